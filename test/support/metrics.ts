// Reading prom-client metrics in tests: a metric's samples, and the sum of those matching some labels.
import type { Registry } from 'prom-client';

export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  /** histograms: _bucket, _count or _sum */
  metricName?: string;
}

export async function samples(registry: Registry, name: string): Promise<Sample[]> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values as Sample[];
}

/** The sum of the samples whose labels include `labels` (and, for a histogram part, whose metricName is `part`). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}, part?: '_count' | '_sum'): Promise<number> {
  const found = (await samples(registry, name)).filter(
    (s) => (part === undefined || s.metricName === name + part) && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found.reduce((n, s) => n + s.value, 0);
}
