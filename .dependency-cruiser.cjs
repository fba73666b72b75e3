// Import-graph rules for libs/nestjs-celery/src (`npm run check:deps`): no cycles, and the
// layers protocol ← transport ← engine ← nest import downward only; common is for everyone.
const SRC = '^libs/nestjs-celery/src/';
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'an import cycle: split what both sides share into a module both import',
      from: {},
      to: { circular: true },
    },
    {
      name: 'protocol-is-pure',
      severity: 'error',
      comment: 'protocol imports nothing of transport, engine or nest',
      from: { path: `${SRC}protocol/` },
      to: { path: `${SRC}(transport|engine|nest)/` },
    },
    {
      name: 'transport-below-engine',
      severity: 'error',
      comment: 'transport imports no engine or nest code',
      from: { path: `${SRC}transport/` },
      to: { path: `${SRC}(engine|nest)/` },
    },
    { name: 'engine-below-nest', severity: 'error', comment: 'engine imports no nest code', from: { path: `${SRC}engine/` }, to: { path: `${SRC}nest/` } },
    {
      name: 'common-is-a-leaf',
      severity: 'error',
      comment: 'common is importable by all, so it imports no layer',
      from: { path: `${SRC}common/` },
      to: { path: `${SRC}(protocol|transport|engine|nest)/` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
