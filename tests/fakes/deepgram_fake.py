#!/usr/bin/python3
"""A fake of Deepgram's live transcription websocket (/v1/listen), for parleyd's integration tests.

It speaks the real wire protocol (plain-HTTP refusals of the upgrade, Results / UtteranceEnd /
SpeechStarted / Metadata / Error frames, KeepAlive / Finalize / CloseStream, closes 1000/1008/1011)
but recognises nothing: a JSON script says which words it "hears" at which second of audio, and
each stream's audio clock, bytes / (2 * sample_rate * channels), decides when they are sent.

usage: deepgram_fake.py [--port N] [--tls CERT KEY] [--api-key KEY] [--script FILE] [--log FILE]
  [--max-streams N] [--fail-handshake STATUS] [--idle-timeout S] [--undecodable]
  [--internal-error-after S] [--slow-read BYTES_PER_SECOND]          (see --help)
Prints one line "listening on PORT" once ready; binds 127.0.0.1 only; exits 0 on SIGTERM.
Script: {"utterances": [{"words": [{"word": "i", "start": 0.2, "end": 0.4, "confidence": 0.97,
"punctuated_word": "I"}, ...], "speech_final": true, "utterance_end": true, "split": 1}, ...]}.
As on the real service, interims need interim_results=true, SpeechStarted needs vad_events=true,
punctuated_word needs punctuate or smart_format, and utterance_end defaults to true only with
interim_results=true and utterance_end_ms. Utterances play in order (the next starts once the
previous one's final and UtteranceEnd are out), so leave gaps of utterance_end_ms between them.
An empty binary frame (which clients must never send) acts as the legacy CloseStream and is logged
as "empty_frame". --log FILE gets one JSON line per event for the tests to assert on.
"""
import argparse
import asyncio
import datetime
import functools
import hashlib
import http
import json
import re
import signal
import socket
import ssl
import sys
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

import websockets
from websockets.legacy.server import WebSocketServerProtocol

# Close reasons must fit the 123-byte limit of a close frame.
NET0001 = ("Deepgram did not receive audio data or a text message within the timeout window. "
           "See https://dpgr.am/net0001")
NET0000 = "NET-0000: The service has encountered an internal error. See https://dpgr.am/net0000"
DATA0000 = "DATA-0000: The payload cannot be decoded as audio. See https://dpgr.am/data0000"
SEND_TIMEOUT = 10.0    # a client that stops reading must not wedge the fake
CLOSE_TIMEOUT = 3.0    # how long a server-initiated close waits for the client's echo
MAX_STREAM_SECONDS = 3600.0  # hard cap, so that even a busy stream's loop is bounded
INTERIM_EVERY = 0.1    # at most one interim per 100 ms of audio
QUERY_RULES = {  # the values the real service accepts for the options parleyd sends
    "model": r"(nova-3|nova-2|nova|enhanced|base|whisper)(-[a-z0-9]+)*|[0-9a-f-]{36}",
    "language": r"multi|[a-z]{2,3}(-[A-Za-z0-9]{2,8})*",
    "encoding": "linear16|linear32|flac|alaw|mulaw|amr-nb|amr-wb|opus|ogg-opus|speex|g729",
    "sample_rate": r"[1-9]\d*", "channels": r"[1-9]\d*", "utterance_end_ms": r"[1-9]\d*",
    "endpointing": r"\d+|true|false", **{name: "true|false" for name in (
        "interim_results", "vad_events", "smart_format", "punctuate", "filler_words")}}
ERR_CODES = {400: "Bad Request", 401: "INVALID_AUTH", 402: "ASR_PAYMENT_REQUIRED",
             403: "INSUFFICIENT_PERMISSIONS", 404: "NOT_FOUND", 429: "TOO_MANY_REQUESTS"}


def _words(text, start, conf=0.95):
    """Default-script words for `text`: one every 0.3 s from `start`, each lasting 0.24 s."""
    return [{"word": re.sub(r"[^\w']", "", token).lower(), "start": round(start + 0.3 * i, 2),
             "end": round(start + 0.3 * i + 0.24, 2), "confidence": conf, "punctuated_word": token}
            for i, token in enumerate(text.split())]


DEFAULT_SCRIPT = {"utterances": [
    {"words": _words("Tell me about the weather today.", 0.5)},
    {"words": _words("What time is it in Paris?", 4.0, 0.9)},
]}


def load_script(path):
    """The script's utterances, with defaults filled in; fails loudly on a malformed file."""
    script = DEFAULT_SCRIPT
    if path:
        with open(path, encoding="utf-8") as f:
            script = json.load(f)
    utterances = script["utterances"]
    for utt in utterances:
        if not utt.get("words"):
            raise ValueError("every scripted utterance needs at least one word")
        for w in utt["words"]:
            w.setdefault("confidence", 0.95)
            w.setdefault("punctuated_word", w["word"])
            w["start"], w["end"] = float(w["start"]), float(w["end"])
    return utterances


def query_error(q):
    """Why the real service would answer 400 to this query string, or None if it is acceptable."""
    for name, rule in QUERY_RULES.items():
        if name in q and not re.fullmatch(rule, q[name]):
            return f"Invalid value for {name}: {q[name]}"
    if "encoding" in q and "sample_rate" not in q:
        return "sample_rate is required when encoding is set"
    return None


class Stream:
    """One transcription stream: turns audio bytes and control messages into the server's replies.

    Pure state machine (no I/O), so the connection handler stays a thin loop around it."""

    def __init__(self, number, request_id, query, utterances):
        self.number, self.request_id, self.query = number, request_id, query
        self.utterances = utterances
        self.rate = int(query.get("sample_rate", "16000"))
        self.channels = int(query.get("channels", "1"))
        self.interim = query.get("interim_results") == "true"
        self.vad = query.get("vad_events") == "true"
        self.punctuate = "true" in (query.get("punctuate"), query.get("smart_format"))
        ep = query.get("endpointing", "300")
        # endpointing=false: no speech_final, but finals still come after a short pause.
        self.endpointing = ep != "false"
        self.endpoint_delay = (int(ep) if ep.isdigit() else 300) / 1000.0
        ue_ms = query.get("utterance_end_ms")
        self.ue_default = self.interim and ue_ms is not None
        self.ue_delay = int(ue_ms or 1000) / 1000.0
        model = query.get("model", "nova-3")
        self.model_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, model))
        self.model_info = {"name": f"general-{model}", "version": "2025-01-01.1", "arch": model}
        now = datetime.datetime.now(datetime.timezone.utc)
        self.created = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.bytes, self.frames, self.sha = 0, 0, hashlib.sha256()
        self.current = 0          # index of the utterance being played
        self.done = 0             # words of the current utterance already sent as final
        self.interim_upto = 0     # words of the current utterance covered by the last interim
        self.interim_at = -1.0    # audio clock of the last interim
        self.seg_start = 0.0      # start of the audio span not yet covered by a final
        self.ue_due = None        # clock at which a pending UtteranceEnd is due
        self.vad_next = 0         # next utterance whose SpeechStarted is due

    @property
    def clock(self):
        return self.bytes / (2.0 * self.rate * self.channels)

    def add_audio(self, data):
        """Advance the clock by one binary frame; returns the messages now due, in order."""
        self.bytes += len(data)
        self.frames += 1
        self.sha.update(data)
        return self.speech_started() + self.step()

    def speech_started(self):
        out = []
        while self.vad and self.vad_next < len(self.utterances):
            first = self.utterances[self.vad_next]["words"][0]["start"]
            if self.clock < first:
                break
            out.append({"type": "SpeechStarted", "channel": [0, 1], "timestamp": first})
            self.vad_next += 1
        return out

    def step(self):
        """Play the script up to the current clock; bounded by a few moves per utterance."""
        out = []
        for _ in range(3 * len(self.utterances) + 1):
            if self.ue_due is not None:
                if self.clock < self.ue_due:
                    break
                last_end = self.utterances[self.current]["words"][-1]["end"]
                out.append({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": last_end})
                self.next_utterance()
                continue
            if self.current >= len(self.utterances):
                break
            utt = self.utterances[self.current]
            words = utt["words"]
            cut = words[-1]["end"] + self.endpoint_delay
            if self.clock < cut:
                out += self.maybe_interim(words)
                break
            speech_final = self.endpointing and utt.get("speech_final", True)
            split = int(utt.get("split", 1))
            out += self.finals(words[self.done:], cut, speech_final, False, split)
            if utt.get("utterance_end", self.ue_default):
                self.ue_due = words[-1]["end"] + self.ue_delay
            else:
                self.next_utterance()
        return out

    def next_utterance(self):
        self.current += 1
        self.done = self.interim_upto = 0
        self.ue_due = None

    def heard(self):
        """How many words of the current utterance the clock has passed (0 if none is playing)."""
        if self.ue_due is not None or self.current >= len(self.utterances):
            return 0
        return sum(1 for w in self.utterances[self.current]["words"] if w["end"] <= self.clock)

    def maybe_interim(self, words):
        heard = self.heard()
        fresh = heard > max(self.interim_upto, self.done)
        if not (self.interim and fresh and self.clock - self.interim_at >= INTERIM_EVERY - 1e-9):
            return []
        self.interim_upto, self.interim_at = heard, self.clock
        heard_words = words[self.done:heard]
        return [self.results(heard_words, self.seg_start, self.clock, False, False, False)]

    def finals(self, words, end, speech_final, from_finalize, split=1):
        """The is_final Results for `words` in `split` pieces; only the last may be speech_final."""
        if not words:
            return []
        n = max(1, min(split, len(words)))
        pieces = [words[len(words) * i // n:len(words) * (i + 1) // n] for i in range(n)]
        out = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            piece_end = end if last else piece[-1]["end"]
            out.append(self.results(piece, self.seg_start, piece_end, True, speech_final and last,
                                    from_finalize))
            self.seg_start = piece_end
        self.done += len(words)
        self.interim_upto = self.done
        return out

    def flush(self, from_finalize):
        """Finalize/CloseStream: a final for the words heard so far in the current utterance."""
        heard = self.heard()
        if heard <= self.done:
            return []
        words = self.utterances[self.current]["words"][self.done:heard]
        return self.finals(words, self.clock, False, from_finalize)

    def results(self, words, start, end, is_final, speech_final, from_finalize):
        keys = ("word", "start", "end", "confidence")
        keys += ("punctuated_word",) if self.punctuate else ()
        out_words = [{k: w[k] for k in keys} for w in words]
        text = " ".join(w["punctuated_word" if self.punctuate else "word"] for w in words)
        conf = sum(w["confidence"] for w in words) / len(words) if words else 0.0
        return {"type": "Results", "channel_index": [0, 1], "duration": round(end - start, 4),
                "start": round(start, 4), "is_final": is_final, "speech_final": speech_final,
                "from_finalize": from_finalize,
                "channel": {"alternatives": [{"transcript": text, "confidence": round(conf, 4),
                                              "words": out_words}]},
                "metadata": {"request_id": self.request_id, "model_uuid": self.model_uuid,
                             "model_info": self.model_info}}

    def metadata(self):
        return {"type": "Metadata", "transaction_key": "deprecated", "request_id": self.request_id,
                "sha256": self.sha.hexdigest(), "created": self.created,
                "duration": round(self.clock, 4), "channels": self.channels,
                "models": [self.model_uuid], "model_info": {self.model_uuid: self.model_info}}


class Fake:
    """Options and shared state of the running fake (stream numbering, concurrency slots)."""

    def __init__(self, args):
        self.args = args
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None
        self.utterances = load_script(args.script)
        self.active = self.opened = 0

    def log(self, event, **fields):
        """One JSON line per event, flushed at once so that a test can read it while we run."""
        if self.log_file:
            self.log_file.write(json.dumps({"event": event, **fields}) + "\n")
            self.log_file.flush()

    def refusal(self, status, err_msg, request_id):
        """A plain-HTTP answer to the upgrade, shaped like Deepgram's JSON errors."""
        self.log("refused", status=status)
        err_code = ERR_CODES.get(status, http.HTTPStatus(status).phrase.upper().replace(" ", "_"))
        body = json.dumps({"err_code": err_code, "err_msg": err_msg, "request_id": request_id})
        headers = [("Content-Type", "application/json"), ("dg-request-id", request_id)]
        return http.HTTPStatus(status), headers, body.encode()


class FakeProtocol(WebSocketServerProtocol):
    """Checks the upgrade request like the real service and reserves a concurrency slot."""

    def __init__(self, *args, fake, **kwargs):
        super().__init__(*args, **kwargs)
        self.fake, self.request_id = fake, str(uuid.uuid4())
        self.reserved, self.stream = False, None
        # Every successful upgrade carries the request id that Results and Metadata repeat.
        self.extra_headers = lambda path, headers: [("dg-request-id", self.request_id)]

    async def process_request(self, path, headers):
        fake, args, rid = self.fake, self.fake.args, self.request_id
        url = urlsplit(path)
        if url.path.rstrip("/") != "/v1/listen":
            return fake.refusal(404, "Not found.", rid)
        if args.fail_handshake:
            status = args.fail_handshake
            return fake.refusal(status, http.HTTPStatus(status).phrase + ".", rid)
        auth = headers.get("Authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "token" or key.strip() != args.api_key:
            return fake.refusal(401, "Invalid credentials.", rid)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        problem = query_error(query)
        if problem:
            return fake.refusal(400, problem, rid)
        if args.max_streams is not None and fake.active >= args.max_streams:
            return fake.refusal(429, "Too many concurrent requests.", rid)
        # Reserve the slot now, not when the handler starts, so racing handshakes can't both pass.
        fake.active, fake.opened, self.reserved = fake.active + 1, fake.opened + 1, True
        self.stream = Stream(fake.opened, rid, query, fake.utterances)
        return None

    def release(self):
        if self.reserved:
            self.reserved = False
            self.fake.active -= 1

    def connection_lost(self, exc):
        self.release()  # covers handshakes that failed after process_request accepted them
        super().connection_lost(exc)


async def send(ws, *messages):
    for message in messages:
        await asyncio.wait_for(ws.send(json.dumps(message)), SEND_TIMEOUT)


async def within(seconds, awaitable):
    """Awaits `awaitable` for at most `seconds`; False if it had to be abandoned."""
    try:
        await asyncio.wait_for(awaitable, seconds)
        return True
    except asyncio.TimeoutError:
        return False


async def close(ws, code, reason):
    assert len(reason.encode()) <= 123, reason
    if not await within(CLOSE_TIMEOUT + 1, ws.close(code, reason)):
        ws.transport.abort()


async def on_text(ws, fake, stream, text):
    """Handles a control message; returns True once the stream is over (CloseStream)."""
    try:
        kind = json.loads(text).get("type")
    except (ValueError, AttributeError):
        kind = None
    if kind == "KeepAlive":
        fake.log("keepalive", stream=stream.number)
    elif kind == "Finalize":
        fake.log("finalize", stream=stream.number)
        await send(ws, *stream.flush(from_finalize=True))
    elif kind == "CloseStream":
        fake.log("closestream", stream=stream.number)
        await finish(ws, stream)
        return True
    else:
        # The real service reports the bad message and keeps the stream open.
        fake.log("bad_message", stream=stream.number, message=text[:200])
        await send(ws, {"type": "Error", "variant": "SchemaError",
                        "description": "could not parse client message", "message": text})
    return False


async def finish(ws, stream):
    """What CloseStream gets: the last Results, a Metadata, then close 1000."""
    await send(ws, *stream.flush(from_finalize=False))
    await send(ws, stream.metadata())
    await close(ws, 1000, "")


async def on_audio(ws, fake, stream, data):
    """Handles a binary frame; returns True once the stream is over."""
    if fake.args.undecodable:
        await close(ws, 1008, DATA0000)
        return True
    if not data:
        fake.log("empty_frame", stream=stream.number)
        await finish(ws, stream)
        return True
    await send(ws, *stream.add_audio(data))
    if stream.frames % 10 == 0:
        fake.log("audio", stream=stream.number, bytes=stream.bytes, frames=stream.frames,
                 monotonic=time.monotonic())
    if fake.args.slow_read:
        # Not reading meanwhile lets the library's queue (max_queue=1) and the small kernel
        # buffers fill, so a client sending faster than this rate is pushed back by TCP. The
        # pause ends early if the connection closes (e.g. on SIGTERM).
        await within(len(data) / fake.args.slow_read, ws.wait_closed())
    return False


async def run_stream(ws, fake, stream):
    """Receives frames until the client closes, CloseStream, or a timeout closes the stream."""
    loop = asyncio.get_running_loop()
    opened = last_frame = loop.time()
    fail_at = opened + (fake.args.internal_error_after or MAX_STREAM_SECONDS)
    while True:
        deadline = min(last_frame + fake.args.idle_timeout, fail_at)
        try:
            frame = await asyncio.wait_for(ws.recv(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            await close(ws, 1011, NET0000 if loop.time() >= fail_at else NET0001)
            return
        handler = on_audio if isinstance(frame, bytes) else on_text
        if await handler(ws, fake, stream, frame):
            return
        # Taken after handling, so a --slow-read pause is not mistaken for client silence.
        last_frame = loop.time()


def close_outcome(ws):
    """(code, who closed first) from the library's record of the closing handshake."""
    if ws.close_rcvd_then_sent:
        return ws.close_rcvd.code, "client"
    # No close frame from either side means the client dropped the TCP connection.
    return (ws.close_sent.code, "server") if ws.close_sent else (1006, "client")


async def handle(ws, fake):
    """The life of one accepted stream, logged from "open" to "closed"."""
    stream = ws.stream
    fake.log("open", stream=stream.number, query=stream.query, request_id=stream.request_id,
             authorization=ws.request_headers.get("Authorization"))
    try:
        await run_stream(ws, fake, stream)
    except websockets.ConnectionClosed:
        pass
    finally:
        fake.log("audio", stream=stream.number, bytes=stream.bytes, frames=stream.frames)
        if not await within(CLOSE_TIMEOUT + 1, ws.wait_closed()):
            ws.transport.abort()
        code, by = close_outcome(ws)
        fake.log("closed", stream=stream.number, code=code, by=by, monotonic=time.monotonic())
        ws.release()


def listening_socket(port, slow_read):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if slow_read:
        # Small buffers (inherited by accepted sockets) make the backpressure reach the client soon.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        # Loopback's 64 KB MSS makes the client's kernel size its send buffer to megabytes; an
        # internet path's MSS keeps it near what a client of the real service would have.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1460)
    sock.bind(("127.0.0.1", port))
    return sock


async def serve(args):
    fake, tls = Fake(args), None
    if args.tls:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*args.tls)
    small = {"max_queue": 1, "read_limit": 4096, "write_limit": 4096} if args.slow_read else {}
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    server = await websockets.serve(
        functools.partial(handle, fake=fake), sock=listening_socket(args.port, args.slow_read),
        ssl=tls, create_protocol=functools.partial(FakeProtocol, fake=fake), compression=None,
        ping_interval=None, close_timeout=CLOSE_TIMEOUT, **small)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    await stop
    server.close()  # closes open streams with 1001, like a service going away
    await within(2 * CLOSE_TIMEOUT, server.wait_closed())


def parse_args(argv):
    p = argparse.ArgumentParser(description="Fake Deepgram live transcription websocket.")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve wss with this cert")
    p.add_argument("--api-key", default="test-key", help="expected 'Authorization: Token KEY'")
    p.add_argument("--script", help="JSON file of the utterances the fake 'recognises'")
    p.add_argument("--max-streams", type=int, help="concurrent streams before 429")
    p.add_argument("--fail-handshake", type=int, metavar="STATUS", help="refuse every handshake",
                   choices=[status.value for status in http.HTTPStatus if status >= 400])
    p.add_argument("--idle-timeout", type=float, default=10.0, help="seconds before 1011 NET-0001")
    p.add_argument("--undecodable", action="store_true", help="1008 DATA-0000 on audio")
    p.add_argument("--internal-error-after", type=float, metavar="SECONDS", help="1011 NET-0000")
    p.add_argument("--slow-read", type=float, metavar="BYTES_PER_SECOND", help="throttle reading")
    p.add_argument("--log", help="append JSON event lines to this file")
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(serve(parse_args(sys.argv[1:])))
