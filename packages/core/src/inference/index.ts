export type { GraphSession, InferenceBackend, TensorData, ValueInfo } from './types.js';
export { checkGraphSignature } from './graph-signature.js';
export { providersFor, deviceUnavailable, type DeviceTable, type ProviderAttempt } from './device-table.js';
export { createWebBackend, WEB_DEVICES, type WebDevice, type WebBackendOptions } from './web-backend.js';
