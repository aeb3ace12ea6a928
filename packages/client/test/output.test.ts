import type { WebhookPayload } from '@callhook/contract';
import { describe, expect, it } from 'vitest';
import { record, table } from '../src/cli/output.js';
import { summarize } from '../src/cli/summary.js';

describe('tables', () => {
  it('pads columns to the widest cell and shows missing values as -', () => {
    const rows = [
      { id: 72, url: 'https://somehost.com/fordel/show.php?myid=175', enabled: true },
      { id: 1234, url: null, enabled: false },
    ];
    expect(
      table(rows, [
        ['id', (r) => r.id],
        ['enabled', (r) => r.enabled],
        ['url', (r) => r.url],
      ]),
    ).toBe(
      [
        'ID    ENABLED  URL',
        '72    yes      https://somehost.com/fordel/show.php?myid=175',
        '1234  no       -',
      ].join('\n'),
    );
    expect(
      record([
        ['secret', 'whsec_x'],
        ['previous secret signs until', '2026-01-01T00:00:00Z'],
      ]),
    ).toBe('secret                       whsec_x\nprevious secret signs until  2026-01-01T00:00:00Z');
  });
});

describe('event summaries', () => {
  it("reads the page's hangup as one line", () => {
    // The page's logged hangup (spec example PageHangup); EventTime is in microseconds.
    const hangup: WebhookPayload<'hangup'> = {
      SubCallID: '175-31845fca85624b7a94cf7b4036fd6d52',
      EventTime: 1499349846331075,
      CalledNumber: '00010005',
      EventType: 'hangup',
      CallerIDNum: '000*099',
      CallerExtensionID: 175,
      CallerExtension: '000*099@sip.domain',
      CallFlow: 'out',
      RecID: '175-31845fca85624b7a94cf7b4036fd6d52',
      CallAPIID: '3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52',
      CallerIDName: 'Iggy Pop',
      Duration: 4239900,
      CallStatus: 'ANSWER',
      CallID: '31845fca85624b7a94cf7b4036fd6d52',
    };
    const at = new Date(1499349846331);
    const clock = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}:${String(at.getSeconds()).padStart(2, '0')}.331`;
    expect(summarize(hangup)).toBe(
      `${clock}  hangup      000*099 (Iggy Pop) → 00010005  ANSWER  outgoing  talk 4.24 s  recorded  call 31845fca…`,
    );
  });

  it('marks forwarded, unbridged and tagged calls, and quotes messages', () => {
    const forwarded = summarize({
      EventType: 'dial-out',
      CallID: 'ab'.repeat(16),
      EventTime: 0,
      CallStatus: 'CALLING',
      CallFlow: 'out',
      CallerExtension: '000*200@sip.domain',
      CalledNumber: '+79817654321',
      Transfered: 'yes',
      Bridged: 'no',
      Tag: 'crm-42',
    });
    expect(forwarded).toMatch(
      /^\d\d:\d\d:\d\d\.000 {2}dial-out {4}000\*200 → \+79817654321 {2}CALLING {2}outgoing {2}forwarded {2}not bridged {2}tag crm-42 {2}call abababab…$/,
    );
    const message = summarize({
      EventType: 'message-in',
      extension_id: 175,
      src_number: '+7981',
      did_number: '+7800',
      text: 'hi',
    });
    expect(message).toMatch(/ {2}message-in {2}\+7981 → \+7800 {2}"hi"$/);
  });
});
