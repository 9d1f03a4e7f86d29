/** Injection token of the HDM TypeORM DataSource. */
export const DATA_SOURCE = Symbol('DATA_SOURCE');
