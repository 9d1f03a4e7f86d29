export * from './analyzer-profile';
