/**
 * DNS (beside the library, on its public surface): the embedded resolver that lets
 * containers on a network find each other by name at 127.0.0.11, as Docker's does.
 * @module
 */
export { DnsResolver } from './resolver.js';
export type { DnsResolverOptions, DnsAttachment } from './resolver.js';
export type { DnsRecordsSource, DnsRecordType } from './records.js';
export { endpointRecords } from './endpoint-records.js';
export type { EndpointRecordsOptions } from './endpoint-records.js';
export { containerResolvConf, parseResolvConf, readResolvConf, EMBEDDED_DNS_ADDRESS, HOST_RESOLV_CONF } from './resolv-conf.js';
export type { ContainerResolvConfOptions, ResolvConf } from './resolv-conf.js';
export { addressOfReverseName, reverseName } from './reverse.js';
export { DNS_TABLE } from './redirect.js';
