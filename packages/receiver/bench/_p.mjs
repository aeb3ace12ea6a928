import { Webhook } from 'standardwebhooks';
import { decodeForm } from '../dist/form.js';
import { WebhookParser } from '../dist/index.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body =
  'SubCallID=175-31845fca85624b7a94cf7b4036fd6d52&CalledNumber=00010005&CallerIDNum=000*099&CallerExtensionID=175&CallerExtension=000*099%40sip.domain&CallFlow=out&CallAPIID=3584705177-31845fca85624b7a94cf7b4036fd6d52&CallerIDName=Iggy+Pop&CallID=31845fca85624b7a94cf7b4036fd6d52&EventTime=1499349840250190&EventType=hangup&CallStatus=ANSWER&RecID=175-31845fca85624b7a94cf7b4036fd6d52&Duration=4239900';
const now = new Date();
const sig = new Webhook(SECRET).sign('msg_1', now, body);
const headers = {
  'content-type': 'application/x-www-form-urlencoded',
  'webhook-id': 'msg_1',
  'webhook-timestamp': String(Math.floor(now / 1000)),
  'webhook-signature': sig,
};
const req = { method: 'POST', url: '/show.php?myid=175', headers, body: Buffer.from(body) };
const signed = new WebhookParser({ secret: SECRET });
const unsigned = new WebhookParser({ allowUnsigned: true });
function bench(name, fn) {
  for (let i = 0; i < 20000; i++) fn();
  const n = 300000;
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  const us = ((performance.now() - t) * 1000) / n;
  console.log(name.padEnd(30), us.toFixed(2), 'µs');
  return us;
}
let s = 0;
for (let r = 0; r < 2; r++) {
  const a = bench('URLSearchParams', () => {
    s += new URLSearchParams(body).size;
  });
  const b = bench('signed parse', () => {
    s += signed.parse(req).method.length;
  });
  bench('unsigned parse', () => {
    s += unsigned.parse(req).method.length;
  });
  bench('decodeForm', () => {
    s += decodeForm(body).length;
  });
  console.log('ratio', (a / b).toFixed(3));
}
