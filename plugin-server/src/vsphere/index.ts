// Public API of the vSphere layer: feature code imports from here (never builds SOAP envelopes itself).
export * from './generated/types';
export { VimClient, VimConnectOptions, SERVICE_INSTANCE, DEFAULT_API_VERSION } from './soap/vim-client';
export { VimFault } from './soap/vim-fault';
export { VimConnectionError, normalizeThumbprint } from './soap/transport';
export { SoapEncodeError, serializeRequest, serializeBody } from './soap/xml-writer';
export { SoapDecodeError, parseResponse } from './soap/xml-parser';
export * from './session/session-manager';
export * from './property/property-collector';
export { TaskError } from './task/task-error';
export { waitForTask, WaitForTaskOptions, TaskProgress } from './task/wait-for-task';
export { ManagedObject } from './objects/managed-object';
export { ExtensionManager, ExtensionSpec } from './objects/extension-manager';
export { TaskManager } from './objects/task-manager';
export { Task } from './objects/task';
export { EventManager, EventSpec, eventArguments } from './objects/event-manager';
export { VirtualMachine } from './objects/virtual-machine';
export * from './objects/service-instance';
