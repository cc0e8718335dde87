/* lua.c - the Redis script of a definition file: generated tables describing
 * the streams and features, followed by one fixed body (FD_LUA_BODY) that does
 * dedup, tile updates and window reads for both update and peek. The same
 * body computes the vector in both modes; peek skips every write. */
#include <stdio.h>
#include <string.h>
#include "features-internal.h"

/* Tiles are Redis hashes, one per (entity id, stream): field = tile index
 * (floor(event_time / tile_ms)), value = struct.pack('<ddddd', count, sum, m2,
 * min, max) where m2 is the sum of squared deviations from the tile mean
 * (Welford; merged with Chan's formula, so stddev stays exact-ish without the
 * cancellation of sum-of-squares). Distinct counts are one HLL key per tile;
 * the entity hash marks each HLL tile written ("h|<tile>|<stream>" = when the
 * HLL expires, in Redis time), so a window's PFCOUNT names only tiles that
 * exist: most windows of most entities are sparse, and building and passing
 * 24 key names per 24 h window was a third of the script's time. */
static const char FD_LUA_BODY[] =
    "local A = ARGV\n"
    "local prior = redis.call('GET', KEYS[1])\n"
    "if prior then return {1, prior} end\n"
    "local mode, eid, t, now, P = A[1], A[2], tonumber(A[3]), A[4], A[5]\n"
    "local dedup_ttl, online, online_ttl, seen_ttl = A[6], A[7] == '1', A[8], A[9]\n"
    "local b = 9\n"
    "local ids, fl, num, str = {}, {}, {}, {}\n"
    "for i = 1, #EN do local v = A[b + i]; if v ~= '' then ids[i] = v end end\n"
    "b = b + #EN\n"
    "for i = 1, #FN do fl[i] = A[b + i] == '1' end\n"
    "b = b + #FN\n"
    "for i = 1, #NI do local v = A[b + i]; if v ~= '' then num[i] = tonumber(v) end end\n"
    "b = b + #NI\n"
    "for i = 1, NSI do local v = A[b + i]; if v ~= '' then str[i] = string.sub(v, 2) end end\n"
    "local function fmt(x) return string.format('%.17g', x) end\n"
    "local function idx(x) return string.format('%d', x) end\n"
    "local function passes(f) return f == 0 or fl[f] end\n"
    "local function fname(f) if f == 0 then return '*' end return FN[f] end\n"
    /* one hash per entity id holds its state: tiles of every stream
     * ("t|<tile>|<stream>") and last-event slots ("l|<slot>"); one read here,
     * one write (HDEL + HSET + PEXPIRE) at the end */
    "local ekey, last, etiles, eset, edel, hmarks = {}, {}, {}, {}, {}, {}\n"
    "for e = 1, #EN do\n"
    "  if ids[e] then\n"
    "    ekey[e] = P .. 'e:' .. EN[e] .. ':' .. ids[e]\n"
    "    local raw = redis.call('HGETALL', ekey[e])\n"
    "    local h, ts, hm = {}, {}, {}\n"
    "    for i = 1, #raw, 2 do\n"
    "      local f = raw[i]\n"
    "      local kind = string.sub(f, 1, 2)\n"
    "      if kind == 'l|' then h[string.sub(f, 3)] = raw[i + 1]\n"
    "      elseif kind == 't|' then\n"
    "        local p = string.find(f, '|', 3, true)\n"
    "        local sid = string.sub(f, p + 1)\n"
    "        local c, s, m2, mn, mx = struct.unpack('<ddddd', raw[i + 1])\n"
    "        if ts[sid] == nil then ts[sid] = {} end\n"
    "        ts[sid][tonumber(string.sub(f, 3, p - 1))] = {c, s, m2, mn, mx}\n"
    "      elseif kind == 'h|' then\n"
    "        local p = string.find(f, '|', 3, true)\n"
    "        local sid = string.sub(f, p + 1)\n"
    "        if hm[sid] == nil then hm[sid] = {} end\n"
    "        hm[sid][tonumber(string.sub(f, 3, p - 1))] = tonumber(raw[i + 1])\n"
    "      end\n"
    "    end\n"
    "    last[e], etiles[e], eset[e], edel[e], hmarks[e] = h, ts, {}, {}, hm\n"
    "  end\n"
    "end\n"
    "local function put(e, f, v) local s = eset[e]; s[#s + 1] = f; s[#s + 1] = v end\n"
    "local wm = last[PRIMARY] and last[PRIMARY]['t:*']\n"
    "local late = wm ~= nil and t < tonumber(wm) - GRACE\n"
    /* ids applied within seen_ttl, by event day: never applied twice */
    "local seen_key = P .. 'seen:' .. idx(math.floor(t / 86400000))\n"
    "local seen = redis.call('SISMEMBER', seen_key, eid) == 1\n"
    "local write = mode == 'u' and not late and not seen\n"
    /* tiled streams: read, add the event to its tile (in memory), write back */
    "local function addone(tl, x)\n"
    "  if x == nil then\n"
    "    if tl == nil then return {1, 0, 0, 0, 0} end\n"
    "    return {tl[1] + 1, 0, 0, 0, 0}\n"
    "  end\n"
    "  if tl == nil or tl[1] == 0 then return {1, x, 0, x, x} end\n"
    "  local c, s = tl[1], tl[2]\n"
    "  local c2, s2 = c + 1, s + x\n"
    "  return {c2, s2, tl[3] + (x - s / c) * (x - s2 / c2), math.min(tl[4], x), math.max(tl[5], "
    "x)}\n"
    "end\n"
    "local SV = {}\n"
    /* a group_by stream is bucketed by the event's value of its field
     * (no value: no bucket, its features are null) */
    "local function bucket(g)\n"
    "  if g == 0 then return '' end\n"
    "  if str[g] == nil then return nil end\n"
    "  return '=' .. str[g]\n"
    "end\n"
    "for si = 1, #ST do\n"
    "  local st = ST[si]\n"
    "  local e = st[1]\n"
    "  local bk = bucket(st[8])\n"
    "  if ids[e] and bk then\n"
    "    local sid = st[7] .. bk\n"
    "    local tiles, order = etiles[e][sid] or {}, {}\n"
    "    for ti in pairs(tiles) do order[#order + 1] = ti end\n"
    "    table.sort(order)\n"
    "    local cur = math.floor(t / st[4])\n"
    "    local old = tiles[cur]\n"
    "    local new = old\n"
    "    local x = nil\n"
    "    local contributes = not late and passes(st[3])\n"
    "    if st[2] > 0 then x = num[st[2]]; if x == nil then contributes = false end end\n"
    "    if contributes then\n"
    "      new = addone(old, x)\n"
    "      if write then\n"
    "        put(e, 't|' .. idx(cur) .. '|' .. sid, struct.pack('<ddddd', new[1], new[2], new[3], "
    "new[4], new[5]))\n"
    "        local d = edel[e]\n"
    "        for ti in pairs(tiles) do if ti < cur - st[5] then d[#d + 1] = 't|' .. idx(ti) .. '|' "
    ".. sid end end\n"
    "      end\n"
    "    end\n"
    "    SV[si] = {tiles, cur, old, new, order}\n"
    "  end\n"
    "end\n"
    /* merge the tiles lo..hi in ascending order, the current one (hi) as
     * given: visits existing tiles only, the same order in update and peek */
    "local function merge(acc, tl)\n"
    "  if tl == nil or tl[1] <= 0 then return end\n"
    "  if acc[1] == 0 then acc[1], acc[2], acc[3] = tl[1], tl[2], tl[3]\n"
    "  else\n"
    "    local n = acc[1]\n"
    "    local d = tl[2] / tl[1] - acc[2] / n\n"
    "    acc[3] = acc[3] + tl[3] + d * d * n * tl[1] / (n + tl[1])\n"
    "    acc[1] = n + tl[1]; acc[2] = acc[2] + tl[2]\n"
    "  end\n"
    "  if acc[4] == nil or tl[4] < acc[4] then acc[4] = tl[4] end\n"
    "  if acc[5] == nil or tl[5] > acc[5] then acc[5] = tl[5] end\n"
    "end\n"
    "local function fold(tiles, order, lo, hi, curt)\n"
    "  local acc = {0, 0, 0, nil, nil}\n"
    "  for _, i in ipairs(order) do\n"
    "    if i >= lo and i < hi then merge(acc, tiles[i]) end\n"
    "  end\n"
    "  merge(acc, curt)\n"
    "  return acc[1], acc[2], acc[3], acc[4], acc[5]\n"
    "end\n"
    "local V = {}\n"
    "for fi = 1, #FT do\n"
    "  local f = FT[fi]\n"
    "  local agg, e = f[1], f[2]\n"
    "  local v = nil\n"
    "  if ids[e] then\n"
    "    if (agg <= 5 or agg == 9) and SV[f[3]] then\n"
    "      local sv = SV[f[3]]\n"
    "      local curt = sv[3]\n"
    "      if f[5] == 1 then curt = sv[4] end\n"
    "      local n, s, m2, mn, mx = fold(sv[1], sv[5], sv[2] - f[4] + 1, sv[2], curt)\n"
    "      if agg == 0 then v = n\n"
    "      elseif agg == 1 then v = s\n"
    "      elseif agg == 2 then if n > 0 then v = s / n end\n"
    "      elseif agg == 3 then v = mn\n"
    "      elseif agg == 4 then v = mx\n"
    "      elseif agg == 5 then if n > 0 then v = math.sqrt(m2 / n) end\n"
    "      else\n"
    "        local a = nil\n"
    "        if n > 0 then\n"
    "          if f[8] == 2 then a = s / n elseif f[8] == 1 then a = s\n"
    "          elseif f[8] == 3 then a = mn else a = mx end\n"
    "        end\n"
    "        local x = num[f[6]]\n"
    "        if x ~= nil and a ~= nil and a ~= 0 then v = x / a end\n"
    "      end\n"
    "    elseif agg == 6 then\n"
    "      local sv = last[e]['v:' .. fname(f[7]) .. ':' .. NI[f[6]]]\n"
    "      if sv ~= nil and sv ~= '' then v = tonumber(sv) end\n"
    "    elseif agg == 8 then\n"
    "      local pt = last[e]['t:' .. fname(f[7])]\n"
    "      if pt ~= nil then v = math.max(0, t - tonumber(pt)) / 1000 end\n"
    "    end\n"
    "  end\n"
    "  V[fi] = v\n"
    "end\n"
    /* distinct counts: HLL tiles, read before (include_current=false) and
     * after adding the event; peek unions with a scratch HLL instead */
    "local function hpre(hs, e)\n"
    "  return P .. 'h:' .. EN[e] .. ':' .. ids[e] .. ':' .. hs[6] .. bucket(hs[7]) .. ':'\n"
    "end\n"
    /* the tiles cur-n+1..cur that hold an HLL (marked), plus cur if withcur */
    "local function hkeys(hs, e, cur, n, withcur)\n"
    "  local ks, pre = {}, hpre(hs, e)\n"
    "  local m = hmarks[e][hs[6] .. bucket(hs[7])]\n"
    "  if m then\n"
    "    for i in pairs(m) do\n"
    "      if i > cur - n and i <= cur and not (withcur and i == cur) then ks[#ks + 1] = pre .. idx(i) end\n"
    "    end\n"
    "  end\n"
    "  if withcur then ks[#ks + 1] = pre .. idx(cur) end\n"
    "  return ks\n"
    "end\n"
    "local now_ms = nil\n"
    "local function redis_ms()\n"
    "  if now_ms == nil then local tm = redis.call('TIME'); now_ms = tm[1] * 1000 + math.floor(tm[2] / 1000) end\n"
    "  return now_ms\n"
    "end\n"
    /* a PFCOUNT of one key caches the cardinality in it (a write): name a
     * key that never exists as well, so reads leave every HLL byte alone */
    "local function pfcount(ks)\n"
    "  if #ks == 1 then ks[2] = P .. 'tmp:none' end\n"
    "  return redis.call('PFCOUNT', unpack(ks))\n"
    "end\n"
    "local HX = {}\n"
    "for phase = 0, 1 do\n"
    "  if phase == 1 then\n"
    "    for hi = 1, #HS do\n"
    "      local hs = HS[hi]\n"
    "      local e = hs[1]\n"
    "      if ids[e] and bucket(hs[7]) and not late and passes(hs[3]) and str[hs[2]] ~= nil then\n"
    "        HX[hi] = str[hs[2]]\n"
    "        if write then\n"
    "          local cur = math.floor(t / hs[4])\n"
    "          local key = hpre(hs, e) .. idx(cur)\n"
    "          redis.call('PFADD', key, HX[hi])\n"
    "          redis.call('PEXPIRE', key, hs[5])\n"
    "          local hsid = hs[6] .. bucket(hs[7])\n"
    /* the marker holds when the key expires (Redis time), see below */
    "          put(e, 'h|' .. idx(cur) .. '|' .. hsid, idx(redis_ms() + hs[5]))\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  for fi = 1, #FT do\n"
    "    local f = FT[fi]\n"
    "    local e = f[2]\n"
    "    if f[1] == 7 and ids[e] and bucket(HS[f[3]][7]) and f[5] == phase then\n"
    "      local hs = HS[f[3]]\n"
    "      local added = phase == 1 and HX[f[3]] ~= nil\n"
    "      local ks = hkeys(hs, e, math.floor(t / hs[4]), f[4], added and write)\n"
    "      if added and not write then\n"
    /* peek: what the update would count, from a scratch HLL holding the
     * value; alone it counts 1 (an HLL of one value always does) */
    "        if #ks == 0 then V[fi] = 1\n"
    "        else\n"
    "          local tmp = P .. 'tmp:hll'\n"
    "          redis.call('DEL', tmp)\n"
    "          redis.call('PFADD', tmp, HX[f[3]])\n"
    "          ks[#ks + 1] = tmp\n"
    "          V[fi] = pfcount(ks)\n"
    "          redis.call('DEL', tmp)\n"
    "        end\n"
    "      elseif #ks == 0 then V[fi] = 0\n"
    "      else\n"
    "        V[fi] = pfcount(ks)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for fi = 1, #FT do\n"
    "  local v = V[fi]\n"
    "  if v ~= nil and (v ~= v or v == math.huge or v == -math.huge) then V[fi] = nil end\n"
    "end\n"
    /* last-event slots, online vectors */
    "if write then\n"
    "  for e = 1, #EN do\n"
    "    if ids[e] then\n"
    "      local h = last[e]\n"
    "      local newest = h['t:*'] == nil or t >= tonumber(h['t:*'])\n"
    "      for _, slot in ipairs(LS[e]) do\n"
    "        local tk = 't:' .. fname(slot[1])\n"
    "        if passes(slot[1]) and (h[tk] == nil or t >= tonumber(h[tk])) then\n"
    "          put(e, 'l|' .. tk, A[3])\n"
    "          for _, ni in ipairs(slot[2]) do\n"
    "            local v = ''\n"
    "            if num[ni] ~= nil then v = fmt(num[ni]) end\n"
    "            put(e, 'l|v:' .. fname(slot[1]) .. ':' .. NI[ni], v)\n"
    "          end\n"
    "        end\n"
    "      end\n"
    /* drop the markers of every HLL of the entity that has expired (a tile
     * written now is re-marked by the HSET after the HDEL) */
    "      for sid, m in pairs(hmarks[e]) do\n"
    "        for i, exp in pairs(m) do\n"
    "          if exp < redis_ms() then edel[e][#edel[e] + 1] = 'h|' .. idx(i) .. '|' .. sid end\n"
    "        end\n"
    "      end\n"
    "      if #edel[e] > 0 then redis.call('HDEL', ekey[e], unpack(edel[e])) end\n"
    "      if #eset[e] > 0 then\n"
    "        redis.call('HSET', ekey[e], unpack(eset[e]))\n"
    "        redis.call('PEXPIRE', ekey[e], ETTL)\n"
    "      end\n"
    "      if online and newest then\n"
    "        local parts = {}\n"
    "        for _, fi in ipairs(EF[e]) do\n"
    "          local v = 'null'\n"
    "          if V[fi] ~= nil then v = fmt(V[fi]) end\n"
    "          parts[#parts + 1] = '\"' .. NAMES[fi] .. '\":' .. v\n"
    "        end\n"
    "        local doc = '{\"entity\":\"' .. EN[e] .. '\",\"id\":' .. cjson.encode(ids[e]) ..\n"
    "          ',\"event_id\":' .. cjson.encode(eid) .. ',\"event_time\":' .. A[3] ..\n"
    "          ',\"computed_at\":' .. now .. ',\"definitions_version\":' .. cjson.encode(VERSION) "
    "..\n"
    "          ',\"features\":{' .. table.concat(parts, ',') .. '}}'\n"
    "        redis.call('SET', P .. 'online:' .. EN[e] .. ':' .. ids[e], doc, 'PX', online_ttl)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local out = {}\n"
    "for fi = 1, #FT do if V[fi] ~= nil then out[fi] = fmt(V[fi]) else out[fi] = '' end end\n"
    "local blob = (late and '1' or '0') .. '|' .. now .. '|' .. table.concat(out, ',')\n"
    "if mode == 'u' and not seen then\n"
    "  redis.call('SET', KEYS[1], blob, 'PX', dedup_ttl)\n"
    "  redis.call('SADD', seen_key, eid)\n"
    "  redis.call('PEXPIRE', seen_key, seen_ttl)\n"
    "end\n"
    "if seen then return {1, blob} end\n"
    "return {0, blob}\n";

/** A Lua string literal with every byte outside [A-Za-z0-9_ .:-] escaped. */
static void lua_quote(ss_buf *b, const char *s)
{
    ss_buf_append(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("_ .:-", *c))
            ss_buf_append(b, c, 1);
        else
            ss_buf_printf(b, "\\%03u", *c);
    }
    ss_buf_append(b, "\"", 1);
}

static void lua_strlist(ss_buf *b, const char *name, char **v, size_t n)
{
    ss_buf_printf(b, "local %s = {", name);
    for (size_t i = 0; i < n; i++) {
        if (i) ss_buf_append(b, ",", 1);
        lua_quote(b, v[i]);
    }
    ss_buf_printf(b, "}\n");
}

static void lua_streams(ss_buf *b, const ss_feature_defs *d)
{
    ss_buf_printf(b, "local ST = {");
    for (size_t i = 0; i < d->n_streams; i++) {
        const fd_stream *s = &d->streams[i];
        int64_t grace_tiles = (d->grace_ms + s->tile_ms - 1) / s->tile_ms;
        ss_buf_printf(b, "%s{%d,%d,%d,%lld,%lld,%lld,", i ? "," : "", s->entity + 1, s->input + 1,
                      s->filter + 1, (long long)s->tile_ms,
                      (long long)(2 * s->max_tiles + grace_tiles + 1), (long long)s->ttl_ms);
        lua_quote(b, s->key_part);
        ss_buf_printf(b, ",%d}", s->group + 1);
    }
    ss_buf_printf(b, "}\nlocal HS = {");
    for (size_t i = 0; i < d->n_hll; i++) {
        const fd_stream *s = &d->hll[i];
        ss_buf_printf(b, "%s{%d,%d,%d,%lld,%lld,", i ? "," : "", s->entity + 1, s->input + 1,
                      s->filter + 1, (long long)s->tile_ms, (long long)s->ttl_ms);
        lua_quote(b, s->key_part);
        ss_buf_printf(b, ",%d}", s->group + 1);
    }
    ss_buf_printf(b, "}\n");
}

/* FT rows: {agg, entity, stream, tiles, include_current, input, filter, of} */
static void lua_features(ss_buf *b, const ss_feature_defs *d)
{
    ss_buf_printf(b, "local FT = {");
    for (size_t i = 0; i < d->n_features; i++) {
        const fd_feature *f = &d->features[i];
        ss_buf_printf(b, "%s{%d,%d,%d,%lld,%d,%d,%d,%d}", i ? "," : "", (int)f->agg, f->entity + 1,
                      f->stream + 1, (long long)(f->tile_ms ? f->window_ms / f->tile_ms : 0),
                      f->include_current, f->input + 1, f->filter + 1, (int)f->of);
    }
    ss_buf_printf(b, "}\n");
}

/* LS[e] = {{filter, {numeric inputs}}, ...}: the last-event slots of each
 * entity; slot 0 ("*", every event) always exists (watermark, online). */
static void lua_last_slots(ss_buf *b, const ss_feature_defs *d)
{
    ss_buf_printf(b, "local LS = {");
    for (size_t e = 0; e < d->n_entities; e++) {
        ss_buf_printf(b, "%s{", e ? "," : "");
        for (int flt = -1; flt < (int)d->n_filters; flt++) {
            int used = flt < 0, first = 1;
            for (size_t i = 0; i < d->n_features; i++) {
                const fd_feature *f = &d->features[i];
                used |= f->entity == (int)e && f->filter == flt &&
                        (f->agg == FD_LAST || f->agg == FD_SINCE);
            }
            if (!used) continue;
            ss_buf_printf(b, "%s{%d,{", flt >= 0 ? "," : "", flt + 1);
            for (size_t in = 0; in < d->n_num_inputs; in++) {
                int needed = 0;
                for (size_t i = 0; i < d->n_features; i++) {
                    const fd_feature *f = &d->features[i];
                    needed |= f->entity == (int)e && f->filter == flt && f->agg == FD_LAST &&
                              f->input == (int)in;
                }
                if (!needed) continue;
                ss_buf_printf(b, "%s%zu", first ? "" : ",", in + 1);
                first = 0;
            }
            ss_buf_printf(b, "}}");
        }
        ss_buf_printf(b, "}");
    }
    ss_buf_printf(b, "}\nlocal EF = {");
    for (size_t e = 0; e < d->n_entities; e++) {
        int first = 1;
        ss_buf_printf(b, "%s{", e ? "," : "");
        for (size_t i = 0; i < d->n_features; i++) {
            if (d->features[i].entity != (int)e) continue;
            ss_buf_printf(b, "%s%zu", first ? "" : ",", i + 1);
            first = 0;
        }
        ss_buf_printf(b, "}");
    }
    ss_buf_printf(b, "}\n");
}

/** TTL of an entity's hash (from its last write): the longest retention of
 * any tiled stream, at least the longest window + grace (last-event slots). */
static int64_t entity_ttl(const ss_feature_defs *d)
{
    int64_t ttl = d->max_window_ms + d->grace_ms;
    for (size_t i = 0; i < d->n_streams; i++)
        if (d->streams[i].ttl_ms > ttl) ttl = d->streams[i].ttl_ms;
    return ttl;
}

char *fd_lua_generate(const ss_feature_defs *d)
{
    ss_buf b;
    char **fnames = ss_calloc(d->n_filters + 1, sizeof *fnames);
    char **enames = ss_calloc(d->n_entities + 1, sizeof *enames);
    ss_buf_init(&b);
    ss_buf_printf(&b, "-- streamscore features: generated from %s, version ", d->origin);
    lua_quote(&b, d->version);
    ss_buf_printf(&b, "\n");
    for (size_t i = 0; i < d->n_filters; i++)
        fnames[i] = d->filters[i].name;
    for (size_t i = 0; i < d->n_entities; i++)
        enames[i] = d->entities[i].name;
    lua_strlist(&b, "EN", enames, d->n_entities);
    lua_strlist(&b, "FN", fnames, d->n_filters);
    lua_strlist(&b, "NI", d->num_inputs, d->n_num_inputs);
    lua_strlist(&b, "NAMES", d->names, d->n_features);
    ss_buf_printf(
        &b, "local NSI = %zu\nlocal PRIMARY = %d\nlocal GRACE = %lld\nlocal ETTL = %lld\n",
        d->n_str_inputs, d->primary + 1, (long long)d->grace_ms, (long long)entity_ttl(d));
    ss_buf_printf(&b, "local VERSION = ");
    lua_quote(&b, d->version);
    ss_buf_printf(&b, "\n");
    lua_streams(&b, d);
    lua_features(&b, d);
    lua_last_slots(&b, d);
    ss_buf_append(&b, FD_LUA_BODY, sizeof FD_LUA_BODY - 1);
    ss_free(fnames);
    ss_free(enames);
    return b.data;
}
