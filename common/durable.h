/* durable.h — no request goes upstream unless its usage record can be made
 * durable: space reserved in the spool before the call, records that
 * could not be written kept in memory and retried, the unsettled spool
 * held under its cap, and the health reasons all this raises. */
#ifndef LLMGATE_DURABLE_H
#define LLMGATE_DURABLE_H
#include "gateway.h"
#include "usage.h"

/* Before a request goes upstream: hold space for its usage record. 0: held
 * (the record's durable_record must pass held = 1); -1: refused, *why says
 * why in a sentence for the client (no secrets), and nothing is held. The
 * refusal is logged through the health reasons, not per request. */
int durable_admit(struct gateway *gw, const struct config *c, const char **why);
/* Write a record (into its reservation when held); a record that cannot be
 * written is kept in memory and retried by durable_tick, never dropped.
 * seg gets the segment it went to, "" when it is kept. */
void durable_record(struct gateway *gw, const struct usage_record *rec, int held, char seg[SPOOL_NAME_MAX]);
/* Housekeeping (a few times a second): retry kept records, see whether a
 * full disk has space again, measure the unsettled spool about once a
 * second against c's cap. */
void durable_tick(struct gateway *gw, const struct config *c);
/* Measure the unsettled spool now (CGI: once per process). */
void durable_measure(struct gateway *gw, const struct config *c);
/* The spool's state for /health: {"backlog_bytes", "max_bytes", "kept_records"}. */
cJSON *durable_health_json(struct gateway *gw, const struct config *c);
/* On shutdown: try the kept records once more, log loudly how many could
 * not be written (count and tokens, no secrets), close the spool. */
void durable_shutdown(struct gateway *gw);
#endif
