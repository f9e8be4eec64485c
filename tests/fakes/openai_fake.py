#!/usr/bin/python3
"""Fake OpenAI-compatible streaming chat completions server, for parleyd's integration tests.

Speaks just enough HTTP/1.1 (plain or TLS) to act like OpenAI, llama.cpp's llama-server, vLLM or
Ollama on POST /v1/chat/completions. Standard library only; binds 127.0.0.1; every wait bounded.

usage: openai_fake.py [--port N] [--tls CERT KEY] [--api-key KEY] [--log FILE]
                      [--scenario NAME[:ARG]] [--chunk-delay-ms MS] [--no-chunked] [--hang-max-s S]
  Prints one line "listening on PORT" once ready; exits 0 on SIGTERM/SIGINT. --api-key '' turns
  the Bearer check off; --no-chunked delimits streams by connection close instead of chunking.

A request's scenario is its "model" if that reads "scenario:<name>[:<arg>]", else --scenario:
  normal            (default) ~40-word answer derived from the last user message in 1-3 word
                    chunks every --chunk-delay-ms, with quirks clients must tolerate: comments,
                    CRLF and CR line endings, "data:" without a space, one event over two data:
                    lines (and two writes), a "content": null delta, unknown fields
  slow_first[:MS]   head at once, first event after MS (1000)
  slow_head[:MS]    nothing at all for MS (1000), then as normal
  error_before[:S]  status S (400) with an OpenAI error JSON body
  error_mid[:done]  3 content chunks, data: {"error":...}, end of body and close; no [DONE]
                    unless ":done" (vLLM sends [DONE] after an error)
  cut_mid           3 content chunks and half an event, then close: no last chunk, no [DONE]
  empty             role chunk, finish_reason stop, usage, [DONE]
  garbage           200 text/event-stream with undecodable events, then [DONE]
  garbage_http      bytes that are not HTTP, then close
  hang              head and role chunk, then silence until the client leaves (or --hang-max-s)
  long[:N]          N (200) content chunks "t0", " t1", ...
Without "stream": true the reply is one chat.completion JSON (only error_before applies).

Keep-alive: connections stay open after complete responses (error JSON, chunked streams ended by
[DONE]); they close after --no-chunked streams, error_mid, cut_mid, garbage_http, hang, a client
disconnect, HTTP/1.0 or "Connection: close", and after 15 s idle.

--log FILE appends one JSON line per event, flushed: {"event":"request","id":N,"path","model",
"authorization","body"}, {"event":"chunk","id":N,"index":i} per content chunk, {"event":"done"}
after [DONE], {"event":"client_closed","chunks_sent":k,"monotonic":time.monotonic()} when the
client left before [DONE], {"event":"refused","status":S} (400, 401, 404, error_before).
"""
import argparse
import asyncio
import itertools
import json
import signal
import ssl
import time
from http import HTTPStatus

IDLE_TIMEOUT = 15.0   # to receive a whole request, keep-alive idle time included
IO_TIMEOUT = 10.0     # for a write to drain; a client that stops reading counts as gone
MAX_HEAD = 64 * 1024
MAX_BODY = 8 * 1024 * 1024
FEW = 3               # content chunks before error_mid / cut_mid strike
IDS = itertools.count(1)
# name -> default argument; an int default means the argument must be an int
SCENARIOS = {"normal": None, "slow_first": 1000, "slow_head": 1000, "error_before": 400,
             "error_mid": "", "cut_mid": None, "empty": None, "garbage": None,
             "garbage_http": None, "hang": None, "long": 200}


class ClientGone(Exception):
    """The client closed the connection (or stopped reading) while we were answering."""


class HttpError(Exception):
    """A refusal, answered with the OpenAI error JSON."""

    def __init__(self, status, message, etype="invalid_request_error", code=None, param=None):
        super().__init__(message)
        self.status, self.message, self.etype, self.code, self.param = \
            status, message, etype, code, param


def make_log(path):
    def log(event, rid, **fields):
        if path:  # opened per line: each line is complete on disk before the test looks
            with open(path, "a", encoding="utf-8") as file:
                file.write(json.dumps({"event": event, "id": rid, **fields}) + "\n")
    return log


class Conn:
    """A client connection with our own read buffer, so that a watcher can read while a reply
    streams (to see the client's EOF) without losing bytes of a pipelined next request."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.buf = bytearray()
        self.gone = asyncio.Event()

    async def fill(self):
        try:
            data = await self.reader.read(65536)
        except OSError:  # reset, TLS error
            data = b""
        if not data:
            self.gone.set()
            raise EOFError
        self.buf += data

    async def read_until(self, sep, limit):
        while (i := self.buf.find(sep)) < 0:
            if len(self.buf) > limit:
                raise HttpError(431, "Request header fields too large.")
            await self.fill()
        return await self.read_exact(i + len(sep))

    async def read_exact(self, n):
        while len(self.buf) < n:
            await self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def watch(self):
        """Runs while a reply is produced; EOF from the client means it cancelled."""
        try:
            while len(self.buf) < MAX_HEAD + MAX_BODY:
                await self.fill()
        except EOFError:
            pass

    async def send(self, data):
        if self.gone.is_set():
            raise ClientGone
        try:
            self.writer.write(data)
            await asyncio.wait_for(self.writer.drain(), IO_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as e:
            self.gone.set()
            raise ClientGone from e


async def read_request(conn):
    """(method, target, version, headers, body); EOFError when the client closes first."""
    head = (await conn.read_until(b"\r\n\r\n", MAX_HEAD)).decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
        raise HttpError(400, "Malformed request line.")
    headers = {}
    for line in filter(None, lines[1:]):
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(400, "Malformed header line.")
        headers[name.strip().lower()] = value.strip()
    if headers.get("expect", "").lower() == "100-continue":  # curl does this for big bodies
        await conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    return parts[0], parts[1], parts[2], headers, await read_body(conn, headers)


async def read_body(conn, headers):
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while size := int((await conn.read_until(b"\r\n", 1024)).split(b";")[0], 16):
                if len(body) + size > MAX_BODY:
                    raise HttpError(413, "Request body too large.")
                body += (await conn.read_exact(size + 2))[:-2]
            while await conn.read_until(b"\r\n", MAX_HEAD) != b"\r\n":
                pass  # trailer fields, ignored
            return bytes(body)
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise HttpError(400, "Malformed body framing.") from None
    if not 0 <= length <= MAX_BODY:
        raise HttpError(413, "Request body too large.")
    return await conn.read_exact(length)


async def send_json(conn, status, obj, keep):
    body = json.dumps(obj, ensure_ascii=False).encode()
    phrase = next((known.phrase for known in HTTPStatus if known == status), "Error")
    head = (f"HTTP/1.1 {status} {phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n" + ("" if keep else "Connection: close\r\n"))
    await conn.send(head.encode() + b"\r\n" + body)


async def send_error(conn, e, keep):
    await send_json(conn, e.status, {"error": {"message": e.message, "type": e.etype,
                                               "param": e.param, "code": e.code}}, keep)


def text_of(content):
    """Message content as text: a string, or the text parts of a multimodal list."""
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def answer_for(payload):
    users = [m for m in payload["messages"] if isinstance(m, dict) and m.get("role") == "user"]
    question = " ".join(text_of(users[-1].get("content")).split())[:60] if users else ""
    return (f"Here is a structured answer to: {question or '(no question)'}. First, set the "
            "context briefly and name the goal you were trying to reach. Second, walk through "
            "the concrete steps you took and why you chose them over the alternatives. Finally, "
            "give the measurable result and one lesson you would apply next time.")


def split_words(text):
    """Chunks of 1, 2, 3, 1, 2, 3... words whose concatenation is exactly `text`."""
    words, out, i = text.split(" "), [], 0
    for n in itertools.cycle((1, 2, 3)):
        if i >= len(words):
            return out
        out.append(("" if i == 0 else " ") + " ".join(words[i:i + n]))
        i += n


def usage(payload, texts):
    prompt = sum(4 + len(text_of(m.get("content")).split())
                 for m in payload["messages"] if isinstance(m, dict))
    completion = len("".join(texts).split())
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def pick_scenario(model, default):
    spec = model[9:] if isinstance(model, str) and model.startswith("scenario:") else default
    name, _, arg = spec.partition(":")
    if name not in SCENARIOS:
        raise HttpError(400, f"Unknown fake scenario {name!r}.", param="model")
    if isinstance(SCENARIOS[name], int):
        try:
            arg = int(arg) if arg else SCENARIOS[name]
        except ValueError:
            raise HttpError(400, f"Scenario {name} wants an integer, not {arg!r}.") from None
    if name == "error_before" and not 400 <= arg <= 599:
        raise HttpError(400, "error_before wants a status in 400..599.")
    return name, arg


def validate(method, target, headers, payload, cfg):
    """The scenario to play, or HttpError for what the real server would refuse."""
    path = target.split("?", 1)[0]
    if method != "POST" or path != "/v1/chat/completions":
        raise HttpError(404, f"Invalid URL ({method} {path})")
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if cfg.api_key and (scheme.lower() != "bearer" or token.strip() != cfg.api_key):
        raise HttpError(401, "Incorrect API key provided.", code="invalid_api_key")
    if not isinstance(payload, dict):
        raise HttpError(400, "We could not parse the JSON body of your request.")
    if not isinstance(payload.get("messages"), list) or not payload["messages"]:
        raise HttpError(400, "Missing required parameter: 'messages'.", param="messages")
    name, arg = pick_scenario(payload.get("model"), cfg.scenario)
    if name == "error_before":
        raise HttpError(arg, f"Fake error_before scenario (status {arg}).",
                        "server_error" if arg >= 500 else "invalid_request_error")
    return name, arg


class Reply:
    """One streamed response: HTTP framing, SSE events, and its bookkeeping."""

    def __init__(self, conn, cfg, log, rid, payload, chunked):
        self.conn, self.cfg, self.log, self.rid, self.payload = conn, cfg, log, rid, payload
        self.chunked = chunked
        self.sent = 0          # content chunks sent
        self.done = False      # [DONE] sent: a close after that is no cancellation
        self.base = {"id": f"chatcmpl-{rid}", "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": payload.get("model")}

    async def head(self):
        framing = "Transfer-Encoding: chunked" if self.chunked else "Connection: close"
        await self.conn.send(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                              f"Cache-Control: no-cache\r\n{framing}\r\n\r\n").encode())

    async def raw(self, data, last=False):
        if self.chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data) + (b"0\r\n\r\n" if last else b"")
        await self.conn.send(data)

    def chunk(self, delta, finish=None, **extra):
        return {**self.base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                          "finish_reason": finish}], **extra}

    async def event(self, obj, eol="\n", prefix="data: ", last=False):
        text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False,
                                                           separators=(",", ":"))
        await self.raw(f"{prefix}{text}{eol}{eol}".encode(), last)

    async def pause(self, ms):
        """Sleeps, but wakes up and raises ClientGone as soon as the client leaves."""
        try:
            await asyncio.wait_for(self.conn.gone.wait(), max(ms, 0) / 1000)
        except asyncio.TimeoutError:
            return  # (with ms <= 0 this returns at once; the next send() checks the client)
        raise ClientGone

    async def content(self, text):
        """One content delta; the first few take the framing quirks real servers produce."""
        i = self.sent
        obj = self.chunk({"content": text}, **({"system_fingerprint": "fp_fake"} if i % 2 else {}))
        if i == 2:  # one event over two data: lines (joined by "\n" it is valid JSON), two writes
            line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            cut = line.index(',"object"') + 1
            await self.raw(f"data: {line[:cut]}\n".encode())
            await self.pause(5)
            await self.raw(f"data: {line[cut:]}\n\n".encode())
        else:
            await self.event(obj, *{1: ("\r\n",), 3: ("\r",), 4: ("\n", "data:")}.get(i, ()))
        self.sent += 1
        self.log("chunk", self.rid, index=i)

    async def finish(self):
        await self.event("[DONE]", last=True)  # with the last chunk: [DONE] then EOF is no race
        self.done = True
        self.log("done", self.rid)

    async def answer(self, texts, first_delay_ms=0):
        """The successful stream after the head: comment, role, contents, stop, usage, [DONE]."""
        await self.pause(first_delay_ms)
        await self.raw(b": keep-alive\n\n")  # comments are not events; proxies send them
        await self.event(self.chunk({"role": "assistant", "content": ""}))
        for text in texts:
            await self.pause(self.cfg.chunk_delay_ms)
            await self.content(text)
            if self.sent == 1:  # Azure, and llama.cpp around tool calls, send null content
                await self.event(self.chunk({"content": None}))
            if self.sent == 3:
                await self.raw(b": keep-alive\r\n\r\n")
        await self.event(self.chunk({}, "stop", timings={"predicted_n": len(texts)}))
        options = self.payload.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            await self.event({**self.base, "choices": [], "usage": usage(self.payload, texts)})
        await self.finish()


async def play(r, name, arg):
    """Plays scenario `name`; True when the connection may carry another request."""
    texts = split_words(answer_for(r.payload))
    if name == "slow_head":
        await r.pause(arg)
    if name == "garbage_http":
        await r.conn.send(b"SSH-2.0-OpenSSH_9.2p1 this is not HTTP\r\n\x00\xff\xfe\r\n\r\n")
        return False
    await r.head()
    if name in ("normal", "slow_head", "slow_first", "empty", "long"):
        if name == "long":
            texts = [("" if i == 0 else " ") + f"t{i}" for i in range(arg)]
        await r.answer([] if name == "empty" else texts, arg if name == "slow_first" else 0)
        return True
    if name == "garbage":
        await r.raw(b"data: {not json\n\n")
        await r.raw(b'data: {"choices":"not a list","id":7}\n\ndata: \xff\xfe\n\n')
        await r.finish()
        return True
    await r.event(r.chunk({"role": "assistant", "content": ""}))
    if name == "hang":
        await r.pause(r.cfg.hang_max_s * 1000)
        return False
    for text in texts[:FEW]:
        await r.pause(r.cfg.chunk_delay_ms)
        await r.content(text)
    if name == "error_mid":
        error = {"message": "The server had an error while processing your request.",
                 "type": "server_error", "param": None, "code": None}
        await r.event({"error": error}, last=arg != "done")
        if arg == "done":
            await r.finish()
    else:  # cut_mid: half of the next event, then the connection just ends
        await r.raw(f'data: {{"id":"chatcmpl-{r.rid}","object":"chat.comp'.encode())
    return False


async def stream(conn, cfg, log, rid, name, arg, payload, chunked):
    r = Reply(conn, cfg, log, rid, payload, chunked)
    watcher = asyncio.create_task(conn.watch())
    try:
        return await play(r, name, arg) and chunked
    except ClientGone:
        if not r.done:
            log("client_closed", rid, chunks_sent=r.sent, monotonic=time.monotonic())
        return False
    finally:
        watcher.cancel()  # and wait: a read still pending in it would clash with the next one
        await asyncio.wait([watcher])


async def serve_one(conn, cfg, log):
    """Reads and answers one request; True when the connection may carry another."""
    try:
        async with asyncio.timeout(IDLE_TIMEOUT):
            method, target, version, headers, body = await read_request(conn)
    except HttpError as e:
        await send_error(conn, e, keep=False)
        return False
    rid = next(IDS)
    keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    model = payload.get("model") if isinstance(payload, dict) else None
    log("request", rid, path=target, model=model, authorization=headers.get("authorization"),
        body=payload)
    try:
        name, arg = validate(method, target, headers, payload, cfg)
    except HttpError as e:
        log("refused", rid, status=e.status)
        await send_error(conn, e, keep)
        return keep
    if payload.get("stream") is not True:
        texts = split_words(answer_for(payload))
        await send_json(conn, 200, {
            "id": f"chatcmpl-{rid}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "usage": usage(payload, texts),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "".join(texts)}}]}, keep)
        return keep
    chunked = cfg.chunked and version == "HTTP/1.1"
    return await stream(conn, cfg, log, rid, name, arg, payload, chunked) and keep


async def serve(cfg):
    ctx = None
    if cfg.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*cfg.tls)
        ctx.set_alpn_protocols(["http/1.1"])  # a client offering h2 falls back to HTTP/1.1
    log, tasks, stop = make_log(cfg.log), set(), asyncio.Event()

    async def on_client(reader, writer):
        tasks.add(asyncio.current_task())
        conn = Conn(reader, writer)
        try:
            while await serve_one(conn, cfg, log):
                pass
        except (ClientGone, EOFError, OSError):  # client left, stalled or timed out: just close
            pass
        finally:
            tasks.discard(asyncio.current_task())
            if stop.is_set():  # shutting down: no waiting for a TLS close_notify exchange
                writer.transport.abort()
            else:
                writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", cfg.port, ssl=ctx,
                                        ssl_handshake_timeout=IO_TIMEOUT if ctx else None)
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()
    for task in list(tasks):
        task.cancel()
    if tasks:
        await asyncio.wait(list(tasks), timeout=2)
    await asyncio.wait_for(server.wait_closed(), 2)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--api-key", default="test-key")
    p.add_argument("--log")
    p.add_argument("--scenario", default="normal")
    p.add_argument("--chunk-delay-ms", type=int, default=20)
    p.add_argument("--no-chunked", dest="chunked", action="store_false")
    p.add_argument("--hang-max-s", type=float, default=60.0)
    cfg = p.parse_args()
    try:
        pick_scenario(None, cfg.scenario)
    except HttpError as e:
        p.error(e.message)
    asyncio.run(serve(cfg))


if __name__ == "__main__":
    main()
