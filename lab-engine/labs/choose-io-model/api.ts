/**
 * The runtime values of the module learners import as 'iovlab/choose-io-model'. Its declarations
 * (what Monaco shows) are in api-dts.ts; a test checks the two agree.
 */
import { IO_MODELS, IRQ_MODES } from './cloud.ts';
import { DELIVERED_MIN, MAX_POLLING_CORES, MAX_QUEUES, PORT_FILL_MAX } from './limits.ts';

export const CHOOSE_IO_MODEL_API = Object.freeze({
  IO_MODELS: Object.freeze([...IO_MODELS]),
  IRQ_MODES: Object.freeze([...IRQ_MODES]),
  DELIVERED_MIN,
  PORT_FILL_MAX,
  MAX_QUEUES,
  MAX_POLLING_CORES,
});
