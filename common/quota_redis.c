/* quota_redis.c — a gateway key's limits in Redis: reserve and record, each one Lua script (quota_redis.h). */
#include "autoconf.h"
#include "quota_redis.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ARGV: base, month, now_ms, lease_ms, rid, ask tokens, ask cost, rpm,
 * tpm, token budget, monthly token budget, cost budget, monthly cost
 * budget, then the seed: tokens, cost, tokens this month, cost this month.
 * Returns {code, reset_s, used}. */
static const char reserve_lua[] =
	"local b, month, now, lease, rid = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]\n"
	"local askT, askC = tonumber(ARGV[6]), tonumber(ARGV[7])\n"
	"local rpm, tpm = tonumber(ARGV[8]), tonumber(ARGV[9])\n"
	"local lT, lTm, lC, lCm = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])\n"
	"local all, mon = b .. ':all', b .. ':m:' .. month\n"
	"if redis.call('EXISTS', all) == 0 then redis.call('HSET', all, 't', ARGV[14], 'c', ARGV[15]) end\n"
	"if redis.call('EXISTS', mon) == 0 then\n"
	"  redis.call('HSET', mon, 't', ARGV[16], 'c', ARGV[17]); redis.call('EXPIRE', mon, 3456000)\n"
	"end\n"
	"local rk = b .. ':res'\n"
	"local rT, rC, rTm, rCm = 0, 0, 0, 0\n"
	"local res = redis.call('HGETALL', rk)\n"
	"for i = 1, #res, 2 do\n"
	"  local t, c, exp, m = string.match(res[i + 1], '^(%d+) (%d+) (%d+) (%S+)$')\n"
	"  if not t or tonumber(exp) < now then redis.call('HDEL', rk, res[i])\n"
	"  else\n"
	"    rT = rT + tonumber(t); rC = rC + tonumber(c)\n"
	"    if m == month then rTm = rTm + tonumber(t); rCm = rCm + tonumber(c) end\n"
	"  end\n"
	"end\n"
	"local wr, wt = b .. ':rpm', b .. ':tpm'\n"
	"redis.call('ZREMRANGEBYSCORE', wr, '-inf', now - 60000)\n"
	"redis.call('ZREMRANGEBYSCORE', wt, '-inf', now - 60000)\n"
	"local function reset(z)\n"
	"  local o = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')\n"
	"  if #o == 0 then return 1 end\n"
	"  local s = math.ceil((tonumber(o[2]) + 60000 - now) / 1000)\n"
	"  if s < 1 then return 1 end\n"
	"  return s\n"
	"end\n"
	"if rpm > 0 then\n"
	"  local n = redis.call('ZCARD', wr)\n"
	"  if n >= rpm then return {1, reset(wr), n} end\n"
	"end\n"
	"if tpm > 0 then\n"
	"  local used = rT\n"
	"  for _, m in ipairs(redis.call('ZRANGE', wt, 0, -1)) do used = used + tonumber(string.match(m, ' (%d+)$')) end\n"
	"  if used > 0 and (used >= tpm or used + askT > tpm) then return {2, reset(wt), used} end\n"
	"end\n"
	"local s = redis.call('HMGET', all, 't', 'c')\n"
	"local sm = redis.call('HMGET', mon, 't', 'c')\n"
	"local t, c = tonumber(s[1] or 0) + rT, tonumber(s[2] or 0) + rC\n"
	"local tm, cm = tonumber(sm[1] or 0) + rTm, tonumber(sm[2] or 0) + rCm\n"
	"if lT > 0 and t + askT > lT then return {3, 0, t} end\n"
	"if lC > 0 and c + askC > lC then return {4, 0, c} end\n"
	"if lTm > 0 and tm + askT > lTm then return {5, 0, tm} end\n"
	"if lCm > 0 and cm + askC > lCm then return {6, 0, cm} end\n"
	"redis.call('HSET', rk, rid, string.format('%d %d %d %s', askT, askC, now + lease, month))\n"
	"redis.call('PEXPIRE', rk, lease + 60000)\n"
	"redis.call('ZADD', wr, now, rid)\n"
	"redis.call('PEXPIRE', wr, 61000)\n"
	"return {0, 0, 0}\n";

/* ARGV: the key prefix, then for each usage: key id, month, now_ms, rid
 * ("" none), tokens, cost, tag. Returns how many were new. */
static const char record_lua[] =
	"local pre, n = ARGV[1], 0\n"
	"for i = 2, #ARGV - 6, 7 do\n"
	"  local b, month, now, rid, tag = pre .. ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 6]\n"
	"  local t, c = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])\n"
	"  if rid ~= '' then redis.call('HDEL', b .. ':res', rid) end\n"
	"  if redis.call('SET', b .. ':d:' .. tag, '1', 'NX', 'PX', 86400000) then\n"
	"    n = n + 1\n"
	"    if t ~= 0 or c ~= 0 then\n"
	"      local all, mon = b .. ':all', b .. ':m:' .. month\n"
	"      redis.call('HINCRBY', all, 't', t); redis.call('HINCRBY', all, 'c', c)\n"
	"      redis.call('HINCRBY', mon, 't', t); redis.call('HINCRBY', mon, 'c', c)\n"
	"      redis.call('EXPIRE', mon, 3456000)\n"
	"    end\n"
	"    if t > 0 then\n"
	"      redis.call('ZADD', b .. ':tpm', now, tag .. ' ' .. t); redis.call('PEXPIRE', b .. ':tpm', 61000)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return n\n";

void quota_redis_new_id(char out[QUOTA_RID_LEN])
{
	unsigned char b[8];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		memset(b, 0, sizeof(b));
	out[0] = 'r';
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", b[i]);
}

static long long nano(double cost)
{
	return cost > 0 ? (long long)(cost * QUOTA_COST_NANO + 0.5) : 0;
}

int quota_redis_reserve(struct redis *r, const struct auth_entry *who, const char *month, int64_t now_ms,
			long lease_ms, long long ask_tokens, double ask_cost, const struct quota_redis_seed *seed,
			char rid[QUOTA_RID_LEN], struct quota_redis_answer *a, char *err, size_t errlen)
{
	char v[17][48];
	const char *args[17];
	memset(a, 0, sizeof(*a));
	quota_redis_new_id(rid);
	snprintf(v[0], sizeof(v[0]), "%sq:%.30s", redis_prefix(r), who->id);
	snprintf(v[1], sizeof(v[1]), "%.7s", month);
	snprintf(v[2], sizeof(v[2]), "%lld", (long long)now_ms);
	snprintf(v[3], sizeof(v[3]), "%ld", lease_ms);
	snprintf(v[4], sizeof(v[4]), "%s", rid);
	long long nums[] = { ask_tokens, nano(ask_cost), who->rpm, who->tpm, who->tokens, who->tokens_month,
			     nano(who->cost), nano(who->cost_month), seed->tokens, nano(seed->cost),
			     seed->tokens_month, nano(seed->cost_month) };
	for (size_t i = 0; i < 12; i++)
		snprintf(v[5 + i], sizeof(v[5 + i]), "%lld", nums[i] > 0 ? nums[i] : 0);
	for (size_t i = 0; i < 17; i++)
		args[i] = v[i];
	struct redis_reply x;
	if (redis_script(r, reserve_lua, 17, args, &x, err, errlen) != 0)
		return -1;
	int ok = x.type == RR_ARRAY && x.n == 3 && x.v[0].type == RR_INT;
	if (ok) {
		a->code = (enum quota_redis_code)x.v[0].i;
		a->reset_s = x.v[1].type == RR_INT ? (long)x.v[1].i : 1;
		a->used = x.v[2].type == RR_INT ? x.v[2].i : 0;
	} else {
		snprintf(err, errlen, "Redis answered the reservation with %.100s", x.type == RR_ERR ? x.s : "something else");
	}
	redis_reply_free(&x);
	return ok ? 0 : -1;
}

int quota_redis_record(struct redis *r, const struct quota_redis_usage *u, size_t n, char *err, size_t errlen)
{
	if (n > QUOTA_REDIS_BATCH)
		n = QUOTA_REDIS_BATCH;
	char (*v)[48] = xcalloc(1 + 7 * n, sizeof(*v));
	const char **args = xcalloc(1 + 7 * n, sizeof(*args));
	snprintf(v[0], sizeof(v[0]), "%sq:", redis_prefix(r));
	for (size_t i = 0; i < n; i++) {
		char (*w)[48] = v + 1 + 7 * i;
		snprintf(w[0], sizeof(w[0]), "%.30s", u[i].key_id);
		snprintf(w[1], sizeof(w[1]), "%.7s", u[i].month);
		snprintf(w[2], sizeof(w[2]), "%lld", (long long)u[i].ts_ms);
		snprintf(w[3], sizeof(w[3]), "%.23s", u[i].rid);
		snprintf(w[4], sizeof(w[4]), "%lld", u[i].tokens);
		snprintf(w[5], sizeof(w[5]), "%lld", u[i].cost < 0 ? -nano(-u[i].cost) : nano(u[i].cost));
		snprintf(w[6], sizeof(w[6]), "%.23s", u[i].tag);
	}
	for (size_t i = 0; i < 1 + 7 * n; i++)
		args[i] = v[i];
	struct redis_reply x;
	int rc = redis_script(r, record_lua, (int)(1 + 7 * n), args, &x, err, errlen);
	free(args);
	free(v);
	if (rc != 0)
		return -1;
	int ok = x.type == RR_INT;
	if (!ok)
		snprintf(err, errlen, "Redis answered the usage with %.100s", x.type == RR_ERR ? x.s : "something else");
	redis_reply_free(&x);
	return ok ? 0 : -1;
}
