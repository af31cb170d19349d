// Trains the MLP 784-128-10 (softmax cross-entropy, SGD) with TensorFlow.js
// on its wasm-SIMD backend under Node, on random data, and prints one JSON
// line: {"examples_per_s": median, "min":..., "max":..., "runs":..., "backend":...}.
// Usage: node mlp.js [batch] [steps_per_run] [runs]
//        node mlp.js --serve [batch]   (murmur bench: prints "ready", then
//        runs one step per "step" line on stdin and answers "ok")
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');

async function main() {
  const serve = process.argv[2] === '--serve';
  if (serve) process.argv.splice(2, 1);
  const batch = parseInt(process.argv[2] || '128', 10);
  const steps = parseInt(process.argv[3] || '50', 10);
  const runs = parseInt(process.argv[4] || '5', 10);
  wasm.setThreadsCount && wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 10 }));
  const opt = tf.train.sgd(0.01);
  const x = tf.randomUniform([batch, 784]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10).toFloat();
  const step = () => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x)), true);
  for (let i = 0; i < 5; i++) tf.dispose(step()); // warm up
  if (serve) {
    process.stdout.write('ready ' + tf.getBackend() + '\n');
    const rl = require('readline').createInterface({ input: process.stdin });
    for await (const line of rl) {
      if (line.trim() !== 'step') continue;
      const loss = step();
      await loss.data();
      tf.dispose(loss);
      process.stdout.write('ok\n');
    }
    return;
  }
  const rates = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) {
      const loss = step();
      if (i === steps - 1) await loss.data();
      tf.dispose(loss);
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push((batch * steps) / s);
  }
  rates.sort((a, b) => a - b);
  console.log(JSON.stringify({ examples_per_s: rates[Math.floor(rates.length / 2)], min: rates[0], max: rates[rates.length - 1], runs, backend: tf.getBackend() }));
}
main().catch((e) => { console.error(e); process.exit(1); });
