// The bodies the benchmark sends and the mock upstreams answer with: a
// realistic ~1 KB OpenAI chat request, the chat.completion an upstream
// returns for it, and the full SSE stream of the same answer (role chunk,
// content chunks, finish chunk, usage chunk, [DONE]), shaped the way OpenAI
// sends them with stream_options.include_usage: every chunk carries
// "usage":null and one last chunk with empty choices carries the usage.

'use strict';

const CREATED = 1732240000;
const ID = 'chatcmpl-bench0123456789abcdefghijklmn';
const FINGERPRINT = 'fp_bench_0001';

const SYSTEM = 'You are a concise assistant for a small platform team. Answer in plain '
  + 'English, name the files or settings you rely on, and keep each answer under six '
  + 'sentences unless the user asks for detail. When a question is ambiguous, state the '
  + 'assumption you make before answering.';

const USER = 'We run lighttpd 1.4 in front of a FastCGI program written in C that proxies '
  + 'chat completions to several upstream providers. Under load, with 64 clients sending '
  + 'non-streaming requests of about one kilobyte each, we see the p99 latency climb while '
  + 'CPU on the box stays below half. The program uses one thread per request from a pool '
  + 'of sixteen and one libcurl easy handle per thread with keep-alive to the upstream. '
  + 'Which settings or code paths should we look at first, and how would you measure each '
  + 'of them without changing the production configuration?';

const ANSWER = 'Start with the queue in front of the pool: with sixteen threads and 64 clients, '
  + 'requests wait in the FastCGI listen backlog, so compare the time lighttpd spends '
  + 'connecting to the socket with the handler time. Next, check that each easy handle really '
  + 'reuses its upstream connection (CURLINFO_NUM_CONNECTS stays at 0). Measure both with a '
  + 'copy of the configuration on another port.';

// The ~1 KB request: model, system + user message, sampling settings.
function chatRequest(model, { stream = false, user = 'bench-user-42' } = {}) {
  const req = {
    model,
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: USER },
    ],
    temperature: 0.2,
    top_p: 1,
    max_tokens: 256,
    user,
  };
  if (stream) {
    req.stream = true;
    req.stream_options = { include_usage: true };
  }
  return JSON.stringify(req);
}

const USAGE = {
  prompt_tokens: 236,
  completion_tokens: 68,
  total_tokens: 304,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};

function chatResponse(model) {
  return JSON.stringify({
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: ANSWER, refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: 'stop',
    }],
    usage: USAGE,
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  });
}

function chunk(model, delta, finish, usage) {
  return JSON.stringify({
    id: ID,
    object: 'chat.completion.chunk',
    created: CREATED,
    model,
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
    choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: usage || null,
  });
}

// The answer cut into at most `n` content pieces of equal word counts (16
// for the default 20).
function pieces(n) {
  const words = ANSWER.split(' ');
  const out = [];
  const per = Math.ceil(words.length / n);
  for (let i = 0; i < n; i++) {
    const w = words.slice(i * per, (i + 1) * per);
    if (w.length) out.push((i ? ' ' : '') + w.join(' '));
  }
  return out;
}

// The whole stream as one string: role, the content pieces, finish, usage, [DONE].
function chatStream(model, n = 20) {
  const ev = [];
  ev.push(chunk(model, { role: 'assistant', content: '', refusal: null }, null));
  for (const p of pieces(n)) ev.push(chunk(model, { content: p }, null));
  ev.push(chunk(model, {}, 'stop'));
  ev.push(chunk(model, null, null, USAGE));
  return ev.map((e) => `data: ${e}\n\n`).join('') + 'data: [DONE]\n\n';
}

module.exports = { chatRequest, chatResponse, chatStream, chunk, USAGE, ANSWER };
