// Runs on the audio thread: mixes the microphone down to mono, resamples it to the target rate
// (linear interpolation; the context runs at the device's rate, 44.1 or 48 kHz), converts it to
// 16-bit little-endian PCM, and posts fixed-size frames to the page.
class Pcm16 extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate, frameSamples } = options.processorOptions;
    this.step = sampleRate / targetRate; // input samples per output sample
    this.position = 0; // where the next output sample falls, in input samples
    this.previous = 0; // the last input sample of the previous block
    this.frame = new Int16Array(frameSamples);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const length = channels[0].length;
    const at = (i) => {
      if (i < 0) return this.previous;
      let sum = 0;
      for (const c of channels) sum += c[i];
      return sum / channels.length;
    };
    while (this.position < length) {
      const i = Math.floor(this.position);
      const t = this.position - i;
      const a = at(i - 1);
      const b = at(i);
      const sample = Math.max(-1, Math.min(1, a + (b - a) * t));
      this.frame[this.filled++] = sample < 0 ? sample * 0x8000 : sample * 0x7fff;
      if (this.filled === this.frame.length) {
        // Int16Array is little-endian on every platform browsers run on.
        this.port.postMessage(this.frame.buffer.slice(0));
        this.filled = 0;
      }
      this.position += this.step;
    }
    this.position -= length;
    this.previous = at(length - 1);
    return true;
  }
}

registerProcessor("pcm16", Pcm16);
