/** The engine's version: stamped into metrics, grade results and submissions. */
export const ENGINE_VERSION = '0.1.0';
