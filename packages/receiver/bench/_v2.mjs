import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { SignatureVerifier } from '../dist/signature.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body =
  'SubCallID=175-31845fca85624b7a94cf7b4036fd6d52&CalledNumber=00010005&CallerIDNum=000*099&CallerExtensionID=175&CallerExtension=000*099%40sip.domain&CallFlow=out&CallAPIID=3584705177-31845fca85624b7a94cf7b4036fd6d52&CallerIDName=Iggy+Pop&CallID=31845fca85624b7a94cf7b4036fd6d52&EventTime=1499349840250190&EventType=hangup&CallStatus=ANSWER&RecID=175-31845fca85624b7a94cf7b4036fd6d52&Duration=4239900';
const now = new Date();
const sig = new Webhook(SECRET).sign('msg_1', now, body);
const ts = String(Math.floor(now / 1000));
const v = new SignatureVerifier(SECRET);
const key = createSecretKey(Buffer.from(SECRET.slice(6), 'base64'));
const bodyBuf = Buffer.from(body);
const text = bodyBuf.toString('latin1');
function bench(name, fn) {
  for (let i = 0; i < 20000; i++) fn();
  const n = 300000;
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  const us = ((performance.now() - t) * 1000) / n;
  console.log(name.padEnd(36), us.toFixed(2), 'µs');
}
let s = 0;
const h = { id: 'msg_1', timestamp: ts, signature: sig };
for (let r = 0; r < 2; r++) {
  bench('verify literal', () => {
    v.verify(h, body);
  });
  bench('verify latin1 text', () => {
    v.verify(h, text);
  });
  bench('hmac literal', () => {
    s += createHmac('sha256', key)
      .update('msg_1.' + ts + '.' + body)
      .digest().length;
  });
  bench('hmac latin1 text', () => {
    s += createHmac('sha256', key)
      .update('msg_1.' + ts + '.' + text)
      .digest().length;
  });
  bench('hmac latin1 text, latin1 enc', () => {
    s += createHmac('sha256', key)
      .update('msg_1.' + ts + '.' + text, 'latin1')
      .digest().length;
  });
  bench('hmac two updates buf', () => {
    s += createHmac('sha256', key)
      .update('msg_1.' + ts + '.')
      .update(bodyBuf)
      .digest().length;
  });
}
