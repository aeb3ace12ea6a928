// @ts-check
// What every example receiver does with what it receives, so the three differ only in their
// framework: one line per event, and one per call once the call is assembled.
import { CallAssembler, WebhookReceiver } from '@callhook/receiver';

/** The receiver for the endpoint's one `whsec_` secret (shown when you subscribed the URL). */
export function pageReceiver() {
  const secret = process.env.CALLHOOK_SECRET;
  if (!secret) {
    console.error('Set CALLHOOK_SECRET to the whsec_ secret shown when you subscribed this URL.');
    process.exit(2);
  }
  const receiver = new WebhookReceiver({ secret });
  const calls = new CallAssembler({
    // How long a call stays quiet before it counts as over (the page's hangup ends it sooner).
    quietPeriodMs: Number(process.env.QUIET_MS ?? 5000),
    onCall: (call) =>
      console.log(
        `call ${JSON.stringify({
          callId: call.callId,
          direction: call.direction,
          caller: call.caller.number,
          callee: call.callee.number,
          answered: call.answered,
          status: call.status,
          talkSeconds: call.talkDuration / 1e6,
        })}`,
      ),
  });
  // Handlers are typed per event type: a hangup has CallStatus and Duration.
  receiver.on('hangup', (event, { params }) =>
    console.log(`hangup ${event.CallID} ${event.CallStatus} myid=${params.myid ?? '-'}`),
  );
  receiver.onAny(({ event, method }) => {
    // Messages (message-in/out) belong to no call; every other event has a CallID.
    console.log(`event ${event.EventType} ${method} ${'CallID' in event ? event.CallID : '-'}`);
    calls.add(event);
  });
  return receiver;
}
