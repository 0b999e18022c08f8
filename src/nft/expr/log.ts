/**
 * The `log` expression: logs the packet to the kernel log (with a prefix and level) or to
 * an nflog group. nft: `log prefix "dropped: " level warn`, `log group 2`.
 * Debug lines: `[ log prefix dropped:  level 4 ]`, `[ log group 2 snaplen 0 qthreshold 0 ]`.
 * @module
 */
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import * as C from '../constants.js';
import { ValidationError } from '../../errors.js';
import { type ExprCodec, checkEnum, checkUint, enumName } from './common.js';

/** enum nft_log_level by nft's names. */
export const LOG_LEVELS = {
  emerg: C.NFT_LOGLEVEL_EMERG,
  alert: C.NFT_LOGLEVEL_ALERT,
  crit: C.NFT_LOGLEVEL_CRIT,
  err: C.NFT_LOGLEVEL_ERR,
  warn: C.NFT_LOGLEVEL_WARNING,
  notice: C.NFT_LOGLEVEL_NOTICE,
  info: C.NFT_LOGLEVEL_INFO,
  debug: C.NFT_LOGLEVEL_DEBUG,
  audit: C.NFT_LOGLEVEL_AUDIT,
} as const;

/**
 * Logs the packet: to the kernel log at `level` (the kernel's default, `warn`, reads back
 * as absent), or to nflog `group` with `snaplen` and `qthreshold`.
 */
export interface Log {
  kind: 'log';
  prefix?: string;
  group?: number;
  snaplen?: number;
  qthreshold?: number;
  level?: keyof typeof LOG_LEVELS;
  /** NF_LOG_* flags (tcp sequence, options, ip options, uid, macdecode). */
  flags?: number;
}

export const log: ExprCodec<Log> = {
  name: 'log',
  known: new Set([C.NFTA_LOG_GROUP, C.NFTA_LOG_PREFIX, C.NFTA_LOG_SNAPLEN, C.NFTA_LOG_QTHRESHOLD, C.NFTA_LOG_LEVEL, C.NFTA_LOG_FLAGS]),
  encode(w: Writer, e: Log, field: string) {
    if (e.prefix !== undefined) {
      if (typeof e.prefix !== 'string' || Buffer.byteLength(e.prefix) > 127) throw new ValidationError(`${field}.prefix`, 'must be a string of at most 127 bytes');
      w.attrString(C.NFTA_LOG_PREFIX, e.prefix);
    }
    if (e.group !== undefined) w.attrBe16(C.NFTA_LOG_GROUP, checkUint(e.group, `${field}.group`, 0xffff));
    if (e.snaplen !== undefined) w.attrBe32(C.NFTA_LOG_SNAPLEN, checkUint(e.snaplen, `${field}.snaplen`));
    if (e.qthreshold !== undefined) w.attrBe16(C.NFTA_LOG_QTHRESHOLD, checkUint(e.qthreshold, `${field}.qthreshold`, 0xffff));
    if (e.level !== undefined) w.attrBe32(C.NFTA_LOG_LEVEL, checkEnum(e.level, LOG_LEVELS, `${field}.level`));
    if (e.flags !== undefined) w.attrBe32(C.NFTA_LOG_FLAGS, checkUint(e.flags, `${field}.flags`));
  },
  decode(a: Attributes): Log {
    const e: Log = { kind: 'log' };
    const prefix = a.string(C.NFTA_LOG_PREFIX);
    if (prefix !== undefined) e.prefix = prefix;
    const group = a.be16(C.NFTA_LOG_GROUP);
    if (group !== undefined) e.group = group;
    const snaplen = a.be32(C.NFTA_LOG_SNAPLEN);
    if (snaplen !== undefined) e.snaplen = snaplen;
    const qthreshold = a.be16(C.NFTA_LOG_QTHRESHOLD);
    if (qthreshold !== undefined) e.qthreshold = qthreshold;
    const level = a.be32(C.NFTA_LOG_LEVEL);
    if (level !== undefined && level !== C.NFT_LOGLEVEL_WARNING) e.level = enumName(LOG_LEVELS, level, 'log level');
    const flags = a.be32(C.NFTA_LOG_FLAGS);
    if (flags) e.flags = flags;
    return e;
  },
};
