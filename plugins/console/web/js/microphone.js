// The two ways the page listens. Text mode: the browser's own speech recognition turns speech into
// text (final phrases go to onText). Deepgram mode: the microphone as 16 kHz 16-bit mono PCM
// frames of 40 ms, resampled by an AudioWorklet, for the server to transcribe.

export function speechRecognitionAvailable() {
  return Boolean(window.SpeechRecognition || window.webkitSpeechRecognition);
}

// Returns {stop()}; calls onText(finalText) and onInterim(text); onEnd(error?) when it stops.
export function startSpeechRecognition({ lang, onText, onInterim, onEnd }) {
  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  const r = new Recognition();
  r.continuous = true;
  r.interimResults = true;
  r.lang = lang || navigator.language || "en-US";
  let stopped = false;
  r.onresult = (e) => {
    let interim = "";
    for (let i = e.resultIndex; i < e.results.length; i++) {
      const text = e.results[i][0].transcript.trim();
      if (e.results[i].isFinal) {
        if (text) onText(text);
      } else interim += text + " ";
    }
    onInterim(interim.trim());
  };
  r.onerror = (e) => {
    if (e.error !== "no-speech") onEnd(e.error);
  };
  // Chrome ends a continuous session after a silence; keep listening until asked to stop.
  r.onend = () => (stopped ? onEnd() : r.start());
  r.start();
  return {
    stop() {
      stopped = true;
      r.stop();
    },
  };
}

export const PCM_SAMPLE_RATE = 16000;

// Returns a promise of {stop()}; onFrame(ArrayBuffer) gets each 40 ms frame (1280 bytes).
export async function startPcmCapture(onFrame) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
  });
  const context = new AudioContext();
  await context.audioWorklet.addModule("/console/js/pcm-worklet.js");
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, "pcm16", {
    processorOptions: { targetRate: PCM_SAMPLE_RATE, frameSamples: PCM_SAMPLE_RATE / 25 },
  });
  node.port.onmessage = (e) => onFrame(e.data);
  source.connect(node);
  return {
    stop() {
      node.port.onmessage = null;
      source.disconnect();
      stream.getTracks().forEach((t) => t.stop());
      context.close();
    },
  };
}
