/** The RabbitMQ family's entry point: the broker and the errors a user may catch. */
export { AmqpBroker, type AmqpBrokerOptions } from './amqp.broker.js';
export {
  AmqpBrokerError,
  AmqpConfigError,
  AmqpConnectionError,
  AmqpBrokerClosedError,
  AmqpDeclarationError,
  AmqpPublishError,
  UnroutableMessageError,
  AmqpHeaderError,
} from './amqp-errors.js';
