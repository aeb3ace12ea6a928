import { describe, expect, expectTypeOf, test } from 'vitest';
import {
  InvalidFieldError,
  MalformedRequestError,
  SignatureError,
  StaleTimestampError,
  type WebhookDelivery,
  WebhookParser,
  type WebhookRequest,
} from '../src/index.js';
import {
  encodeEvent,
  getTarget,
  PAGE_URL,
  pageCall,
  requestTarget,
  SECRET,
  signedHeaders,
} from './support.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
const unsigned = new WebhookParser({ allowUnsigned: true });

function get(query: string, parser = unsigned) {
  return parser.parse({ method: 'GET', url: `/fordel/show.php?${query}`, headers: {} });
}

function post(body: string, parser = unsigned, url = '/hook') {
  return parser.parse({ method: 'POST', url, headers: FORM, body: Buffer.from(body) });
}

function refusal(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

describe("the page's worked example", () => {
  test('GET to show.php?myid=175: typed event, myid apart, integers as numbers', () => {
    const url = requestTarget(getTarget(PAGE_URL, encodeEvent(pageCall.hangup)));
    const delivery = new WebhookParser({ secret: SECRET }).parse({
      method: 'GET',
      url,
      headers: signedHeaders(url.slice(url.indexOf('?') + 1)),
    });
    expect(delivery.event).toEqual(pageCall.hangup);
    expect(delivery.params).toEqual({ myid: '175' });
    expect(delivery).toMatchObject({ method: 'GET', id: 'msg_2p5DqGYCWRkSg1ksGFk5EhJSxpD' });
    expect(typeof delivery.timestamp).toBe('number');
    if (delivery.event.EventType === 'hangup') {
      expectTypeOf(delivery.event.Duration).toEqualTypeOf<number | undefined>();
      expect(delivery.event.Duration).toBe(4239900);
    }
  });

  test('POST with the same data in the body', () => {
    const delivery = post(encodeEvent(pageCall.dialOut), unsigned, '/fordel/show.php?myid=175');
    expect(delivery.event).toEqual(pageCall.dialOut);
    expect(delivery.params).toEqual({ myid: '175' });
    expectTypeOf(delivery).toExtend<WebhookDelivery>();
  });

  test('a full absolute URL works as well as a request target; a fragment is not query', () => {
    const delivery = unsigned.parse({
      method: 'get',
      url: `${getTarget(PAGE_URL, encodeEvent(pageCall.answer))}#frag`,
      headers: new Headers(),
    });
    expect(delivery.event).toEqual(pageCall.answer);
  });
});

describe('own parameters and unknown fields', () => {
  const hangup = encodeEvent(pageCall.hangup);

  test('GET: an unknown name is the subscriber’s own parameter by default, even in strict mode', () => {
    const strict = new WebhookParser({ allowUnsigned: true, strict: true });
    expect(get(`myid=175&token=abc&${hangup}`, strict).params).toEqual({ myid: '175', token: 'abc' });
  });

  test('GET: an own parameter named like an event field is the earlier one', () => {
    const delivery = get(`Tag=mine&${hangup}&Tag=theirs`);
    expect(delivery.params).toEqual({ Tag: 'mine' });
    expect(delivery.event.EventType === 'hangup' && delivery.event.Tag).toBe('theirs');
    // An own value the event's field could not take is still the subscriber's, not an error.
    const own = get(`Duration=abc&CallStatus=mine&${hangup}`);
    expect(own.params).toEqual({ Duration: 'abc', CallStatus: 'mine' });
    expect(own.event).toEqual(pageCall.hangup);
    // The event's own value is still checked.
    expect(
      refusal(() => get(`Duration=abc&${hangup.replace(/Duration=\d+/, 'Duration=xyz')}`)),
    ).toMatchObject({ field: 'Duration' });
  });

  test('GET with ownParams: other unknown names are extra, or refused when strict', () => {
    const lenient = new WebhookParser({ allowUnsigned: true, ownParams: ['myid'] });
    const delivery = get(`myid=175&${hangup}&NewField=1`, lenient);
    expect(delivery.params).toEqual({ myid: '175' });
    expect(delivery.extra).toEqual({ NewField: '1' });
    const strict = new WebhookParser({ allowUnsigned: true, ownParams: ['myid'], strict: true });
    expect(refusal(() => get(`myid=175&${hangup}&NewField=1`, strict))).toMatchObject({
      field: 'NewField',
      rule: 'not a field of hangup events',
      status: 422,
    });
  });

  test('POST: unknown body fields are extra (lenient) or refused (strict); the URL query is own', () => {
    const delivery = post(`${hangup}&NewField=1`, unsigned, '/hook?myid=175&a=1&a=2');
    expect(delivery.extra).toEqual({ NewField: '1' });
    expect(delivery.params).toEqual({ myid: '175', a: '2' });
    const strict = new WebhookParser({ allowUnsigned: true, strict: true });
    expect(refusal(() => post(`${hangup}&NewField=1`, strict))).toBeInstanceOf(InvalidFieldError);
  });

  test('a field of another event type is unknown here', () => {
    const message = 'EventType=message-in&extension_id=175&src_number=%2B79817654321&text=hi&CallID=x';
    const delivery = post(message);
    expect(delivery.event).toEqual({
      EventType: 'message-in',
      extension_id: 175,
      src_number: '+79817654321',
      text: 'hi',
    });
    expect(delivery.extra).toEqual({ CallID: 'x' });
  });

  test('a parameter named __proto__ is plain data', () => {
    expect(Object.keys(get(`__proto__=1&${hangup}`).params)).toEqual(['__proto__']);
  });
});

describe('invalid fields name the field and the rule', () => {
  const base = { ...pageCall.hangup } as Record<string, unknown>;
  const without = (name: string) => encodeEvent({ ...base, [name]: undefined });

  test.each([
    ['Duration', '4.2', /expected an integer/],
    ['Duration', '-1', /expected number to be >=0/i],
    ['EventTime', '9007199254740993', /<=9007199254740991|safe/i],
    ['CallStatus', 'CALLING', /expected one of/],
    ['CallFlow', 'OUT', /expected one of "in"\|"out"/],
    ['Transfered', 'no', /expected "yes"/],
    ['ClientApiID', 'x'.repeat(101), /<=100/],
  ])('%s=%s', (field, value, rule) => {
    const error = refusal(() => post(encodeEvent({ ...base, [field]: value })));
    expect(error).toBeInstanceOf(InvalidFieldError);
    expect(error).toMatchObject({ field, status: 422, code: 'invalid_field' });
    expect((error as InvalidFieldError).rule).toMatch(rule);
  });

  test('a missing required field is "required"', () => {
    expect(refusal(() => post(without('CallID')))).toMatchObject({ field: 'CallID', rule: 'required' });
    expect(refusal(() => post(without('EventType')))).toMatchObject({ field: 'EventType', rule: 'required' });
  });

  test('an unknown event type lists the spec’s ones', () => {
    expect(refusal(() => post(encodeEvent({ ...base, EventType: 'ringing' })))).toMatchObject({
      field: 'EventType',
      rule: expect.stringContaining('dial-in, dial-out'),
    });
  });

  test('every problem is reported, not only the first', () => {
    const error = refusal(() =>
      post(encodeEvent({ ...base, Duration: 'x', CallFlow: 'up', CallID: undefined })),
    );
    expect((error as InvalidFieldError).issues.map((i) => i.field).sort()).toEqual([
      'CallFlow',
      'CallID',
      'Duration',
    ]);
  });

  test('a field twice in a POST body is refused', () => {
    expect(refusal(() => post(`${encodeEvent(base)}&Duration=1`))).toMatchObject({
      field: 'Duration',
      rule: 'appears more than once',
    });
  });
});

describe('malformed requests and configuration', () => {
  test('only GET and POST; POST only as a form', () => {
    const put: WebhookRequest = { method: 'PUT', url: '/', headers: {} };
    expect(refusal(() => unsigned.parse(put))).toMatchObject({ status: 405 });
    const json = { method: 'POST', url: '/', headers: { 'content-type': 'application/json' }, body: '{}' };
    const error = refusal(() => unsigned.parse(json));
    expect(error).toBeInstanceOf(MalformedRequestError);
    expect(error).toMatchObject({ status: 415, code: 'malformed_request' });
  });

  test('an empty body has no event type', () => {
    expect(refusal(() => post(''))).toMatchObject({ field: 'EventType', rule: 'required' });
  });

  test('a secret is required unless unsigned requests are allowed explicitly', () => {
    expect(() => new WebhookParser()).toThrow(/allowUnsigned/);
    expect(() => new WebhookParser({ secret: [] })).toThrow(/allowUnsigned/);
  });

  test('signature failures come before anything is decoded', () => {
    const parser = new WebhookParser({ secret: SECRET });
    const body = encodeEvent(pageCall.hangup);
    expect(refusal(() => post(body, parser))).toBeInstanceOf(SignatureError);
    const old = signedHeaders(body, { at: new Date(Date.now() - 3_600_000) });
    expect(refusal(() => parser.parse({ method: 'POST', url: '/', headers: old, body }))).toBeInstanceOf(
      StaleTimestampError,
    );
    // A body that would be invalid still fails on the signature first.
    const garbage = signedHeaders('EventType=nope');
    expect(
      refusal(() => parser.parse({ method: 'POST', url: '/', headers: garbage, body: 'EventType=other' })),
    ).toBeInstanceOf(SignatureError);
  });

  test('GET signatures cover the own parameters too', () => {
    const parser = new WebhookParser({ secret: SECRET });
    const url = requestTarget(getTarget(PAGE_URL, encodeEvent(pageCall.hangup)));
    const headers = signedHeaders(url.slice(url.indexOf('?') + 1));
    expect(() => parser.parse({ method: 'GET', url, headers })).not.toThrow();
    expect(
      refusal(() => parser.parse({ method: 'GET', url: url.replace('myid=175', 'myid=176'), headers })),
    ).toBeInstanceOf(SignatureError);
  });
});
