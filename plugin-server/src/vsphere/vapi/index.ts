export * from './paths';
export { VapiClient, VapiError, VapiRequest } from './rest-client';
export * from './content-library';
export * from './tagging';
