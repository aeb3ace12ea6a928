// This file is auto-generated from spec/openapi.yaml by scripts/gen.mjs. Do not edit.

export interface paths {
    "/oauth/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Get an access token (client credentials)
         * @description Exchanges an application's `client_id` and `client_secret` for a bearer token. Fetch a new
         *     token whenever the API answers 401, even if `expires_in` has not run out.
         *
         *     The credentials go in the form body, or in HTTP Basic as RFC 6749 §2.3.1 describes
         *     (`Authorization: Basic base64(client_id ":" client_secret)`, each form-encoded first):
         *     one or the other, never both (400 `invalid_request`).
         *
         *     Failed attempts are counted per `client_id` and address, and per address: after 5 wrong
         *     secrets for one `client_id` from one address, or 20 from one address in all, within a
         *     minute, that address is answered 429 until the oldest failure is a minute old. A correct
         *     secret from an address without failures is never refused.
         */
        post: operations["createToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/extension/{extension_id}/event/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
            };
            cookie?: never;
        };
        /** Get the extension number event list */
        get: operations["listSubscriptions"];
        put?: never;
        /**
         * Add an extension number event
         * @description Subscribes `url` to one event type of the extension. The response is the stored
         *     subscription; callhook adds `enabled`, `secret_shared` and, on this response only and
         *     only for the first subscription to its endpoint (`secret_shared: false`), the signing
         *     `secret` (see "One signing secret per endpoint").
         */
        post: operations["createSubscription"];
        /** Delete all events of the extension number */
        delete: operations["deleteAllSubscriptions"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/extension/{extension_id}/event/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
            };
            cookie?: never;
        };
        /** Get the extension number event */
        get: operations["getSubscription"];
        /**
         * Update the extension number event
         * @description Changes only the fields given. `enabled=true` re-enables a disabled subscription.
         */
        put: operations["updateSubscription"];
        post?: never;
        /** Delete the extension number event */
        delete: operations["deleteSubscription"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/extension/{extension_id}/event/{id}/secret/rotate/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate the signing secret of the subscription's endpoint
         * @description Makes a new `whsec_` secret for the subscription's endpoint, returned once: every
         *     subscription of the client to that endpoint (`subscription_ids`) signs with it from now
         *     on. The previous secret keeps signing beside the new one (two `v1,` entries in
         *     `webhook-signature`) until `previous_expires_at`, so receivers can switch without losing
         *     a request.
         */
        post: operations["rotateSubscriptionSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/extension/{extension_id}/event/{id}/delivery/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
            };
            cookie?: never;
        };
        /**
         * The subscription's delivery log
         * @description Deliveries of this subscription, newest first, with their last attempt.
         */
        get: operations["listDeliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/extension/{extension_id}/event/{id}/delivery/recover/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Send again every failed delivery since a time */
        post: operations["recoverDeliveries"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/extension/{extension_id}/event/{id}/delivery/{delivery_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
                /** @description The delivery id, as sent in `webhook-id`. */
                delivery_id: components["parameters"]["DeliveryId"];
            };
            cookie?: never;
        };
        /** One delivery with all its attempts */
        get: operations["getDelivery"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/extension/{extension_id}/event/{id}/delivery/{delivery_id}/retry/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
                /** @description The delivery id, as sent in `webhook-id`. */
                delivery_id: components["parameters"]["DeliveryId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send one delivery again now
         * @description Queues the delivery for an immediate attempt with the same `webhook-id`, whatever its
         *     state. A delivery that is already queued is left as it is.
         */
        post: operations["retryDelivery"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/extension/{extension_id}/delivery/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
            };
            cookie?: never;
        };
        /**
         * Every delivery of the extension, filtered, newest first
         * @description The deliveries of all the extension's subscriptions, newest first, with their last
         *     attempt. Paged by cursor: pass a page's `next_cursor` as `cursor` for the next (older)
         *     page; `next_cursor` is null on the last page. A cursor page costs the same however deep
         *     it is (it continues from a position, it does not skip rows), and deliveries that arrive
         *     meanwhile never shift the pages being read. Additive.
         */
        get: operations["listExtensionDeliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/extension/{extension_id}/stream/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
            };
            cookie?: never;
        };
        /**
         * The extension's events as they happen (Server-Sent Events)
         * @description A `text/event-stream` of the extension's events as the intake stores them, whether or not
         *     a subscription receives them. Each message is `id: <event id>`, `event: call-event` and
         *     `data:` one `StreamEvent` as JSON; a `: keep-alive` comment comes every 15 s. Resume after
         *     a broken connection with the last `id` seen in `Last-Event-ID`: the events stored after it
         *     follow (those still kept). Without it the stream starts with the newest events (at most
         *     `backlog`, default 50). Authorized by the bearer token like every other operation
         *     (EventSource cannot send headers: read it with `fetch`). A client may hold 5 streams at
         *     once; a sixth is answered 429. Additive.
         */
        get: operations["streamExtensionEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/{client_id}/extension/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The client's numeric id, or `@me` for the client of the token. */
                client_id: components["parameters"]["ClientId"];
            };
            cookie?: never;
        };
        /**
         * The client's extensions
         * @description Every extension of the client, by id. Additive.
         */
        get: operations["listExtensions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/client/{client_id}/limit/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The client's numeric id, or `@me` for the client of the token. */
                client_id: components["parameters"]["ClientId"];
            };
            cookie?: never;
        };
        /** Subscription limits of the client and its extensions */
        get: operations["getLimits"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/extension/{extension_id}/callback/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Initiate a call (callback)
         * @description Rings `src_num` and connects it to `dst_num` on behalf of the extension. Events of the call
         *     carry `CallBackID` and, when given, `tag` as `Tag`. When the extension itself is the only
         *     `src_num`, there are no events of it calling itself: only its `dial-out` to `dst_num`.
         */
        post: operations["createCallback"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/pbx/event/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Accept one event from the PBX
         * @description For PBX services (authenticated with the PBX key, not an integrator token). The event is
         *     stored, with one delivery per matching subscription, in one transaction before the answer:
         *     an accepted event is never lost. The body may be up to the server's
         *     `CALLHOOK_MAX_BODY_BYTES` (64 KB by default); a larger one is 413.
         */
        post: operations["ingestEvent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/pbx/event/batch/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Accept several events from the PBX at once
         * @description Like `/pbx/event/`, for up to 500 events in one transaction (all or none). Each event may
         *     be as large as `/pbx/event/` takes one (the server's `CALLHOOK_MAX_BODY_BYTES`, 64 KB by
         *     default), so the batch body may be 500 times that, plus 64 bytes per event and 1 KB for
         *     the wrapper: a full batch of the largest events always fits.
         */
        post: operations["ingestEvents"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/pbx/simulate/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run a call scenario on the simulated PBX (demo mode)
         * @description Plays a scenario for one of the token's extensions, generating the events the provider's
         *     generation rules give, through the same intake as a real PBX. Available when the server
         *     runs with the simulator enabled (demo mode); 404 with `code` `no_simulator` otherwise.
         */
        post: operations["simulateCall"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness and store check */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface webhooks {
    "dial-in": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * dial-in, as GET
         * @description An incoming call rings the extension. Event data in the query.
         */
        get: operations["dialInGet"];
        put?: never;
        /**
         * dial-in, as POST
         * @description An incoming call rings the extension. Event data in the body.
         */
        post: operations["dialInPost"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "dial-out": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * dial-out, as GET
         * @description The extension calls out (or a call is forwarded out, `Transfered=yes`). Event data in the query.
         */
        get: operations["dialOutGet"];
        put?: never;
        /**
         * dial-out, as POST
         * @description The extension calls out (or a call is forwarded out, `Transfered=yes`). Event data in the body.
         */
        post: operations["dialOutPost"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    answer: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * answer, as GET
         * @description The call is answered. Event data in the query.
         */
        get: operations["answerGet"];
        put?: never;
        /**
         * answer, as POST
         * @description The call is answered. Event data in the body.
         */
        post: operations["answerPost"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    hangup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * hangup, as GET
         * @description The connection ends. Event data in the query.
         */
        get: operations["hangupGet"];
        put?: never;
        /**
         * hangup, as POST
         * @description The connection ends. Event data in the body.
         */
        post: operations["hangupPost"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    voicemail: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * voicemail, as GET
         * @description A voice message is received. Event data in the query.
         */
        get: operations["voicemailGet"];
        put?: never;
        /**
         * voicemail, as POST
         * @description A voice message is received. Event data in the body.
         */
        post: operations["voicemailPost"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "message-in": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * message-in, as GET
         * @description The extension (of the phone type) receives a message. Event data in the query.
         */
        get: operations["messageInGet"];
        put?: never;
        /**
         * message-in, as POST
         * @description The extension (of the phone type) receives a message. Event data in the body.
         */
        post: operations["messageInPost"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "message-out": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * message-out, as GET
         * @description The extension (of the phone type) sends a message. Event data in the query.
         */
        get: operations["messageOutGet"];
        put?: never;
        /**
         * message-out, as POST
         * @description The extension (of the phone type) sends a message. Event data in the body.
         */
        post: operations["messageOutPost"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface components {
    schemas: {
        /** @description Every error response. `message` as the provider returns it; the rest is additive. */
        Error: {
            /** @description What went wrong, for people. */
            message: string;
            /** @description A stable machine-readable code, where there is one. */
            code?: string;
            /** @description Where validation failed, one entry per problem. */
            errors?: components["schemas"]["FieldError"][];
            /**
             * @description The OAuth2 error code, on token endpoint errors.
             * @enum {string}
             */
            error?: "invalid_request" | "invalid_client" | "invalid_grant" | "unauthorized_client" | "unsupported_grant_type" | "invalid_scope" | "slow_down";
            /** @description The OAuth2 error description, on token endpoint errors. */
            error_description?: string;
            /** @description The id of the request in the server's logs (also in the `X-Request-Id` header). */
            request_id?: string;
        };
        FieldError: {
            /** @description The field, as a dotted path (`url`, `src_num.0`). */
            field: string;
            /** @enum {string} */
            location?: "body" | "query" | "path" | "header";
            /** @description The rule broken (`required`, `enum`, `format`, `maxLength`, `loopback`, ...). */
            rule: string;
            message: string;
        };
        /** @description `client_id` and `client_secret` are required here unless they come in HTTP Basic. */
        TokenRequest: {
            /** @enum {string} */
            grant_type: "client_credentials";
            client_id?: string;
            client_secret?: string;
        };
        TokenResponse: {
            /** @example 8SNsrS0jV35vfmKqKeKtRrHfpbg4UX */
            access_token: string;
            /** @enum {string} */
            token_type: "Bearer";
            /**
             * @description Seconds until the token expires.
             * @example 3600
             */
            expires_in: number;
        };
        /**
         * @description An extension number event.
         * @enum {string}
         */
        EventType: "dial-in" | "dial-out" | "answer" | "hangup" | "voicemail" | "message-in" | "message-out";
        /**
         * @description The request method used to call `url`.
         * @enum {string}
         */
        SubscriptionMethod: "GET" | "POST";
        /**
         * Format: uri
         * @description Where the request is sent when the event occurs: an absolute http(s) URL with a host. Its own
         *     query is kept and the event data is added beside it (GET).
         * @example https://somehost.com/fordel/show.php?myid=175
         */
        SubscriptionUrl: string;
        SubscriptionCreate: {
            url: components["schemas"]["SubscriptionUrl"];
            event_type: components["schemas"]["EventType"];
            method: components["schemas"]["SubscriptionMethod"];
        };
        /** @description Every field optional; only those given change. */
        SubscriptionUpdate: {
            url?: components["schemas"]["SubscriptionUrl"];
            event_type?: components["schemas"]["EventType"];
            method?: components["schemas"]["SubscriptionMethod"];
            /** @description `true` re-enables a disabled subscription (and clears its failure streak). */
            enabled?: boolean;
        };
        /** @description A subscription of an extension to one event type (the page's "event"). */
        Subscription: {
            url: components["schemas"]["SubscriptionUrl"];
            method: components["schemas"]["SubscriptionMethod"];
            event_type: components["schemas"]["EventType"];
            /** Format: int64 */
            id: number;
            /** @description False once callhook disabled it (410 Gone, or failing for too long); PUT `enabled=true` to resume. */
            enabled?: boolean;
            /** @description Why it was disabled, while it is. */
            disabled_reason?: string | null;
            /** @description The extension the subscription belongs to. */
            extension_id?: number;
            /** Format: date-time */
            created_at?: string;
        };
        /**
         * @description The stored subscription and, if this subscription made its endpoint's signing secret,
         *     that secret (returned on creation only).
         */
        SubscriptionCreated: components["schemas"]["Subscription"] & {
            /**
             * @description `false`: the endpoint (the URL without its query) had no subscriptions, its
             *     secret was made now and is in `secret`, shown this once. `true`: the endpoint's
             *     existing secret, shown when it was made or last rotated, signs this subscription
             *     too, and `secret` is absent.
             */
            secret_shared: boolean;
            secret?: components["schemas"]["SigningSecret"];
        };
        /** @description A Standard Webhooks secret, `whsec_` and the base64 of 32 random bytes. */
        SigningSecret: string;
        SecretRotation: {
            /**
             * @description How long the previous secret keeps signing beside the new one.
             * @default 86400
             */
            grace_seconds: number;
        };
        SecretRotated: {
            secret: components["schemas"]["SigningSecret"];
            /** Format: date-time */
            previous_expires_at: string;
            /** @description The subscriptions to the endpoint, all signing with the new secret now. */
            subscription_ids: number[];
        };
        /**
         * @description `pending`: waiting for its first attempt or its turn in the call's order (events of one
         *     call go to one endpoint, the URL without its query, in the order they happened);
         *     `retrying`: an attempt failed and another is scheduled; `succeeded`: a 2xx came back;
         *     `failed`: no attempt succeeded and none is left, or the subscription was disabled or
         *     deleted (with `attempts` 0 when the event came while it was disabled). Failed deliveries
         *     can be retried one by one or recovered since a time.
         * @enum {string}
         */
        DeliveryStatus: "pending" | "retrying" | "succeeded" | "failed";
        /**
         * @description `success` (2xx), `http_error` (any other status), `timeout`, `connection_error`,
         *     `refused_target` (the host resolved to an address callhook does not send to),
         *     `invalid_url`.
         * @enum {string}
         */
        AttemptOutcome: "success" | "http_error" | "timeout" | "connection_error" | "refused_target" | "invalid_url";
        Delivery: {
            /** @description The delivery id, sent as `webhook-id`. */
            id: string;
            subscription_id: number;
            /** @description The event this delivery carries (the `id` of its `StreamEvent`). */
            event_id?: number;
            event_type: components["schemas"]["EventType"];
            /** @description The event's `CallID`, when it has one. */
            call_id?: string | null;
            status: components["schemas"]["DeliveryStatus"];
            /** @description How many attempts were made. */
            attempts: number;
            /** Format: date-time */
            created_at: string;
            /**
             * Format: date-time
             * @description While the delivery is open: when its next attempt is due. While an attempt is under
             *     way, when it would be made again should that attempt's result never be recorded (its
             *     instance died): the end of the attempt's lease. Null once the delivery is closed.
             */
            next_attempt_at?: string | null;
            /** Format: date-time */
            last_attempt_at?: string | null;
            last_status_code?: number | null;
            last_outcome?: components["schemas"]["AttemptOutcome"] | null;
        };
        Attempt: {
            /** Format: date-time */
            attempted_at: string;
            outcome: components["schemas"]["AttemptOutcome"];
            status_code?: number | null;
            latency_ms: number;
            /** @description What went wrong, for people. */
            error?: string | null;
            /** @description The first bytes of the response body (the same as `response.body`). */
            response_body?: string | null;
            request?: components["schemas"]["AttemptRequest"] | null;
            response?: components["schemas"]["AttemptResponse"] | null;
        };
        /**
         * @description The request as sent: method, URL (for `GET`, with the event data in its query) and headers,
         *     with the `webhook-signature` values redacted (`v1,…`); `body` is the form-encoded event
         *     data of a `POST`. URL and body are null once retention removed the delivery's payload.
         */
        AttemptRequest: {
            method: components["schemas"]["SubscriptionMethod"];
            url: string;
            headers: {
                [key: string]: string;
            };
            body?: string | null;
        };
        /**
         * @description What came back: the status, the headers (at most 50, each value at most 1,000
         *     characters) and the first 4 KB of the body as text (bytes that are not UTF-8 shown as
         *     U+FFFD, and NUL as U+FFFD too).
         */
        AttemptResponse: {
            status: number;
            headers: {
                [key: string]: string;
            };
            body: string | null;
            /** @description True when the body was longer than what is kept. */
            body_truncated: boolean;
        };
        DeliveryDetail: components["schemas"]["Delivery"] & {
            /** @description The form-encoded event data as sent (null once retention removed it). */
            payload?: string | null;
            attempt_log: components["schemas"]["Attempt"][];
        };
        DeliveryPage: {
            items: components["schemas"]["Delivery"][];
            page: number;
            per_page: number;
            total: number;
        };
        DeliveryCursorPage: {
            items: components["schemas"]["Delivery"][];
            /** @description Pass as `cursor` for the next (older) page; null on the last. */
            next_cursor: string | null;
        };
        ExtensionSummary: {
            id: number;
            /** @description The extension's name (xxx*yyy). */
            name: string;
            /** @enum {string} */
            kind: "phone" | "ivr" | "queue";
            caller_id_name?: string | null;
            /** @description A queue's agents (extension ids, in the order they are rung); absent for phones and IVRs. Additive. */
            agents?: number[];
        };
        /** @description One message of the event stream (`streamExtensionEvents`). */
        StreamEvent: {
            /** @description The event's id; also the message's SSE `id`. */
            id: number;
            event_type: components["schemas"]["EventType"];
            call_id: string | null;
            /** Format: date-time */
            received_at: string;
            /** @description The event data as subscribers receive it (before form encoding). */
            data: {
                [key: string]: unknown;
            };
        };
        RecoverRequest: {
            /** Format: date-time */
            since: string;
            /** Format: date-time */
            until?: string;
        };
        RecoverResult: {
            /** @description How many failed deliveries were queued again. */
            recovered: number;
        };
        /** @description How many subscriptions the client and each extension may have, and how many they have. */
        Limits: {
            client_id: number;
            subscriptions: {
                /** @description The most subscriptions all the client's extensions may have together. */
                client_limit: number;
                client_used: number;
                /** @description The most subscriptions one extension may have. */
                extension_limit: number;
                extensions: {
                    extension_id: number;
                    used: number;
                    /** @description How many more it can have now (the smaller of what is left of both limits). */
                    available: number;
                }[];
            };
        };
        CallbackRequest: {
            /** @description The number to call. */
            dst_num: string;
            /** @description The numbers (extensions) rung first; the first to answer is connected to `dst_num`. */
            src_num: string[];
            /** @description Appears as `Tag` in every event of the call. */
            tag?: string;
        };
        CallbackResponse: {
            /** @example 3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52 */
            call_api_id: string;
            /** @example 31845fca85624b7a94cf7b4036fd6d52 */
            call_id: string;
        };
        Health: {
            /** @enum {string} */
            status: "ok" | "degraded";
            /** @enum {string} */
            store: "ok" | "unavailable";
            version?: string;
        };
        /** @description The event data of a call event. Only fields that have a value are sent. */
        CallEventFields: {
            EventType: components["schemas"]["EventType"];
            /**
             * @description Unique call identifier. It is not changed when forwarding; use it to tie the events of one call together.
             * @example 31845fca85624b7a94cf7b4036fd6d52
             */
            CallID: string;
            /** @description Caller number. */
            CallerIDNum?: string;
            /** @description Caller name (if any). */
            CallerIDName?: string;
            /** @description Callee public number (if any). */
            CalledDID?: string;
            /** @description Name of the called extension number (in the form xxx*yyy@domain). */
            CalledExtension?: string;
            /** @description Identifier of the called extension number. */
            CalledExtensionID?: number;
            CallStatus?: components["schemas"]["CallStatus"];
            CallFlow?: components["schemas"]["CallFlow"];
            /** @description Caller extension number (in the form xxx*yyy@domain). */
            CallerExtension?: string;
            /** @description Identifier of the caller extension number. */
            CallerExtensionID?: number;
            /** @description Called number. */
            CalledNumber?: string;
            /** @description The recording's id when recording is on for the extension (record_uuid). Meaningful for hangup and voicemail only. */
            RecID?: string;
            /** @description Unique call identifier to manage the call (break, transfer, parking). */
            CallAPIID?: string;
            /** @description Number from the SIP Diversion header when the call came to the PBX (RFC 5806), if present. */
            Diversion?: string;
            /** @description Event generation time, microseconds since January 1, 1970. */
            EventTime: number;
            /** @description For hangup, the talk time in microseconds. For voicemail, the message duration in microseconds. */
            Duration?: number;
            Transfered?: components["schemas"]["Transfered"];
            Bridged?: components["schemas"]["Bridged"];
            /** @description For hangup, the real conversation time in microseconds (when Duration is not, e.g. a queue as src_num). */
            BridgedDuration?: number;
            /** @description Present when the call was initiated (callback); ties events to one call initiation. */
            CallBackID?: string;
            /** @description A component of the call (an extension reached several times in one call has several). Group dial-in, dial-out, answer, hangup by it. */
            SubCallID?: string;
            /** @description The SIP header Client-Api-Id of a call made by the client's equipment. */
            ClientApiID?: string;
            /** @description For incoming calls, when CallerIDNum is not the number connected to (e.g. an outgoing call transferred to another extension). */
            RemoteNumber?: string;
            /** @description For outgoing calls outside the PBX, the number set for identification. */
            ANI?: string;
            /** @description The tag set when the call was initiated; appears in all that call's events. */
            Tag?: string;
        };
        /**
         * @description Call status. `CALLING` for dial-in and dial-out; `ANSWER` for answer; for hangup:
         *     `ANSWER` (answered), `BUSY` (busy signal), `NOANSWER` (not answered before the timeout),
         *     `CANCEL` (the caller cancelled first), `CONGESTION` (an error), `CHANUNAVAIL` (the callee has
         *     no registration).
         * @enum {string}
         */
        CallStatus: "CALLING" | "ANSWER" | "BUSY" | "NOANSWER" | "CANCEL" | "CONGESTION" | "CHANUNAVAIL";
        /**
         * @description How the call ended.
         * @enum {string}
         */
        HangupStatus: "ANSWER" | "BUSY" | "NOANSWER" | "CANCEL" | "CONGESTION" | "CHANUNAVAIL";
        /**
         * @description Call direction: `in` incoming, `out` outgoing.
         * @enum {string}
         */
        CallFlow: "in" | "out";
        /**
         * @description On CallFlow=out: `yes` when the outgoing call is the result of forwarding. May be absent.
         * @enum {string}
         */
        Transfered: "yes";
        /**
         * @description On queue and IVR events (CallFlow=in): `yes` the call was answered after it was put in the queue/IVR, `no` it was not.
         * @enum {string}
         */
        Bridged: "yes" | "no";
        /** @description `dial-in`: an incoming call rings the extension. */
        DialInEvent: components["schemas"]["CallEventFields"] & {
            /** @constant */
            EventType: "dial-in";
            CallFlow: components["schemas"]["CallFlow"];
            /** @constant */
            CallStatus: "CALLING";
        };
        /** @description `dial-out`: the extension calls out, or a call is forwarded out (`Transfered=yes`). */
        DialOutEvent: components["schemas"]["CallEventFields"] & {
            /** @constant */
            EventType: "dial-out";
            CallFlow: components["schemas"]["CallFlow"];
            /** @constant */
            CallStatus: "CALLING";
        };
        /** @description `answer`: the call is answered. */
        AnswerEvent: components["schemas"]["CallEventFields"] & {
            /** @constant */
            EventType: "answer";
            CallFlow: components["schemas"]["CallFlow"];
            /** @constant */
            CallStatus: "ANSWER";
        };
        /** @description `hangup`: the connection ends; `CallStatus` tells how. */
        HangupEvent: components["schemas"]["CallEventFields"] & {
            /** @constant */
            EventType: "hangup";
            CallFlow: components["schemas"]["CallFlow"];
            CallStatus: components["schemas"]["HangupStatus"];
        };
        /** @description `voicemail`: a voice message is received; `Duration` is its length, `RecID` the recording. */
        VoicemailEvent: components["schemas"]["CallEventFields"] & {
            /** @constant */
            EventType: "voicemail";
        };
        /** @description `message-in`: the extension (of the phone type) receives a message. */
        MessageInEvent: {
            /** @constant */
            EventType: "message-in";
            /** @description The extension's name (xxx*yyy). */
            extension_name?: string;
            /** @description The public number the message came to. */
            did_number?: string;
            /** @description The sender's number. */
            src_number: string;
            /** @description The extension's id. */
            extension_id: number;
            /** @description The message text. */
            text: string;
        };
        /** @description `message-out`: the extension (of the phone type) sends a message. */
        MessageOutEvent: {
            /** @constant */
            EventType: "message-out";
            /** @description The extension's name (xxx*yyy). */
            extension_name?: string;
            /** @description The number the message is sent from. */
            src_number?: string;
            /** @description The extension's id. */
            extension_id: number;
            /** @description The recipient's number. */
            dst_number: string;
            /** @description The message text. */
            text: string;
        };
        /** @description One event of one extension, as the PBX reports it. */
        IntakeEvent: components["schemas"]["IntakeDialIn"] | components["schemas"]["IntakeDialOut"] | components["schemas"]["IntakeAnswer"] | components["schemas"]["IntakeHangup"] | components["schemas"]["IntakeVoicemail"] | components["schemas"]["IntakeMessageIn"] | components["schemas"]["IntakeMessageOut"];
        IntakeDialIn: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event_type: "dial-in";
            extension_id: components["schemas"]["IntakeExtensionId"];
            data: components["schemas"]["DialInEvent"] & components["schemas"]["FlatEventData"];
            key?: components["schemas"]["IntakeKey"];
        };
        IntakeDialOut: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event_type: "dial-out";
            extension_id: components["schemas"]["IntakeExtensionId"];
            data: components["schemas"]["DialOutEvent"] & components["schemas"]["FlatEventData"];
            key?: components["schemas"]["IntakeKey"];
        };
        IntakeAnswer: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event_type: "answer";
            extension_id: components["schemas"]["IntakeExtensionId"];
            data: components["schemas"]["AnswerEvent"] & components["schemas"]["FlatEventData"];
            key?: components["schemas"]["IntakeKey"];
        };
        IntakeHangup: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event_type: "hangup";
            extension_id: components["schemas"]["IntakeExtensionId"];
            data: components["schemas"]["HangupEvent"] & components["schemas"]["FlatEventData"];
            key?: components["schemas"]["IntakeKey"];
        };
        IntakeVoicemail: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event_type: "voicemail";
            extension_id: components["schemas"]["IntakeExtensionId"];
            data: components["schemas"]["VoicemailEvent"] & components["schemas"]["FlatEventData"];
            key?: components["schemas"]["IntakeKey"];
        };
        IntakeMessageIn: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event_type: "message-in";
            extension_id: components["schemas"]["IntakeExtensionId"];
            data: components["schemas"]["MessageInEvent"] & components["schemas"]["FlatEventData"];
            key?: components["schemas"]["IntakeKey"];
        };
        IntakeMessageOut: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event_type: "message-out";
            extension_id: components["schemas"]["IntakeExtensionId"];
            data: components["schemas"]["MessageOutEvent"] & components["schemas"]["FlatEventData"];
            key?: components["schemas"]["IntakeKey"];
        };
        /**
         * @description Event data is flat, as form fields are: every value, of the page's fields and of any other,
         *     is a string, a number, a boolean or null (null and empty are not sent), never an object
         *     or a list.
         */
        FlatEventData: {
            [key: string]: unknown;
        };
        /**
         * @description Optional: the PBX's own id for this event (its switch's event id, say). The intake stores
         *     the first event with a key; a later one with the same key (a retry after a lost answer, a
         *     broker delivering again) is accepted as a repeat and stored and delivered no second time.
         * @example sip:175-31845fca85624b7a94cf7b4036fd6d52:dial-out
         */
        IntakeKey: string;
        /** @description The extension the event belongs to (whose subscriptions receive it). */
        IntakeExtensionId: number;
        IntakeBatch: {
            events: components["schemas"]["IntakeEvent"][];
        };
        IntakeResult: {
            /** @description The event's id; for a repeat, the id its key was first stored with. */
            event_id: number;
            /** @description How many deliveries (matching subscriptions) were queued. */
            deliveries: number;
            /** @description 1 when the event's key was stored before (nothing was stored now), else 0. */
            repeats: number;
        };
        IntakeBatchResult: {
            accepted: number;
            deliveries: number;
            /** @description Events of the batch not stored because their key was (before, or earlier in the batch). */
            repeats: number;
        };
        /**
         * @description `outgoing`: the extension calls `number`. `incoming`: `number` calls the extension
         *     (through `did` when given). `ivr`: `number` calls the IVR extension. `queue`: `number` calls
         *     the queue extension, whose agents are rung. `forward`: `number` calls the extension, which
         *     forwards it outside to `forward_to`. `voicemail`: `number` leaves a message.
         *     `message-in` / `message-out`: a text message.
         * @enum {string}
         */
        SimulationScenario: "outgoing" | "incoming" | "ivr" | "queue" | "forward" | "voicemail" | "message-in" | "message-out";
        SimulationRequest: {
            scenario: components["schemas"]["SimulationScenario"];
            /** @description The extension the scenario is about (the caller for `outgoing`, the callee otherwise). */
            extension_id: number;
            /** @description The outside party's number. */
            number?: string;
            /** @description The public number an incoming call came through. */
            did?: string;
            forward_to?: string;
            outcome?: components["schemas"]["HangupStatus"];
            /** @description For `queue`, the agent extension that answers (none answers when absent and `outcome` is not ANSWER). */
            answered_by?: number;
            text?: string;
            /** @description Time from ringing to answer (or to the outcome), before `speed` applies. Default 1841. */
            ring_ms?: number;
            /** @description Talk time, before `speed` applies. Default 4240. */
            talk_ms?: number;
            /** @description Time runs this many times faster than real (the events' times too). Default 1. */
            speed?: number;
        };
        SimulationResult: {
            call_id: string;
            call_api_id?: string;
            /** @description How many events the scenario generates. */
            events: number;
        };
    };
    responses: {
        /** @description An error. */
        Problem: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The request is invalid; `errors` names each field and the rule it broke. */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description No token, or an expired, unknown or malformed one. Fetch a new token. */
        Unauthorized: {
            headers: {
                "WWW-Authenticate"?: string;
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description No such record for this client. */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The subscription limit of the extension or of the client is reached. */
        LimitReached: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The URL's host is, or resolves to, an address callhook does not send to. */
        TargetRefused: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The body is larger than the server accepts. */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The body's content type is not one this operation takes. */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description Too many failed token requests from this address (5 a minute for one `client_id`, 20 a
         *     minute in all); wait `Retry-After` seconds. Other addresses are not affected.
         */
        TooManyRequests: {
            headers: {
                "Retry-After"?: number;
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The client holds as many event streams as it may; close one first. */
        TooManyStreams: {
            headers: {
                "Retry-After"?: number;
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description A part the request needs (the store, the PBX) is not reachable right now; nothing was done. Try again. */
        Unavailable: {
            headers: {
                "Retry-After"?: number;
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description A token request failed, with the OAuth2 `error` code. */
        OAuthError: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Any 2xx acknowledges the delivery; the body is not read. */
        WebhookAccepted: {
            headers: {
                [name: string]: unknown;
            };
            content?: never;
        };
        /** @description The receiver is gone for good; callhook disables the subscription at once. */
        WebhookGone: {
            headers: {
                [name: string]: unknown;
            };
            content?: never;
        };
    };
    parameters: {
        /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
        ExtensionId: string;
        /** @description The subscription's id. */
        SubscriptionId: number;
        /** @description The client's numeric id, or `@me` for the client of the token. */
        ClientId: string;
        /** @description The delivery id, as sent in `webhook-id`. */
        DeliveryId: string;
        /** @description Page number, from 1, at most 10,000,000 (with 200 per page, far past any log). */
        Page: number;
        /** @description Items per page. */
        PerPage: number;
        /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
        WebhookId: string;
        /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
        WebhookTimestamp: string;
        /**
         * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
         *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
         */
        WebhookSignature: string;
    };
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    createToken: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["TokenRequest"];
            };
        };
        responses: {
            /** @description A bearer token. */
            200: {
                headers: {
                    "Cache-Control"?: "no-store";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenResponse"];
                };
            };
            400: components["responses"]["OAuthError"];
            401: components["responses"]["OAuthError"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            default: components["responses"]["Problem"];
        };
    };
    listSubscriptions: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The extension's subscriptions, oldest first. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"][];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Problem"];
        };
    };
    createSubscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SubscriptionCreate"];
            };
        };
        responses: {
            /** @description The stored subscription, with its endpoint's signing secret if it was made now (shown this once). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SubscriptionCreated"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["LimitReached"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["TargetRefused"];
            default: components["responses"]["Problem"];
        };
    };
    deleteAllSubscriptions: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description All of the extension's subscriptions are deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Problem"];
        };
    };
    getSubscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The subscription. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Problem"];
        };
    };
    updateSubscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SubscriptionUpdate"];
            };
        };
        responses: {
            /** @description The updated subscription. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["TargetRefused"];
            default: components["responses"]["Problem"];
        };
    };
    deleteSubscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Problem"];
        };
    };
    rotateSubscriptionSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["SecretRotation"];
            };
        };
        responses: {
            /** @description The new secret. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SecretRotated"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Problem"];
        };
    };
    listDeliveries: {
        parameters: {
            query?: {
                /** @description Only deliveries in this state. */
                status?: components["schemas"]["DeliveryStatus"];
                /** @description Only deliveries created at or after this time. */
                since?: string;
                /** @description Page number, from 1, at most 10,000,000 (with 200 per page, far past any log). */
                page?: components["parameters"]["Page"];
                /** @description Items per page. */
                per_page?: components["parameters"]["PerPage"];
            };
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of the log. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeliveryPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Problem"];
        };
    };
    recoverDeliveries: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RecoverRequest"];
            };
        };
        responses: {
            /** @description The failed deliveries are queued again. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RecoverResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Problem"];
        };
    };
    getDelivery: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
                /** @description The delivery id, as sent in `webhook-id`. */
                delivery_id: components["parameters"]["DeliveryId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The delivery. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeliveryDetail"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Problem"];
        };
    };
    retryDelivery: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
                /** @description The subscription's id. */
                id: components["parameters"]["SubscriptionId"];
                /** @description The delivery id, as sent in `webhook-id`. */
                delivery_id: components["parameters"]["DeliveryId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Queued. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Delivery"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Problem"];
        };
    };
    listExtensionDeliveries: {
        parameters: {
            query?: {
                /** @description Only deliveries in this state. */
                status?: components["schemas"]["DeliveryStatus"];
                /** @description Only deliveries of this event type. */
                event_type?: components["schemas"]["EventType"];
                /** @description Only deliveries of the call with this `CallID`. */
                call_id?: string;
                /** @description Only deliveries of this subscription. */
                subscription_id?: number;
                /** @description Only deliveries created at or after this time. */
                since?: string;
                /** @description Only deliveries created before this time. */
                until?: string;
                /** @description Where the previous page ended (its `next_cursor`). */
                cursor?: string;
                /** @description Items per page. */
                per_page?: components["parameters"]["PerPage"];
            };
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of deliveries. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeliveryCursorPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Problem"];
        };
    };
    streamExtensionEvents: {
        parameters: {
            query?: {
                /** @description Without `Last-Event-ID`, how many of the newest events to send first. */
                backlog?: number;
            };
            header?: {
                /** @description The `id` of the last message received, to resume after it. */
                "Last-Event-ID"?: string;
            };
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The stream; it lasts until the client closes it or the server stops. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyStreams"];
            default: components["responses"]["Problem"];
        };
    };
    listExtensions: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The client's numeric id, or `@me` for the client of the token. */
                client_id: components["parameters"]["ClientId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The extensions. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExtensionSummary"][];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Problem"];
        };
    };
    getLimits: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The client's numeric id, or `@me` for the client of the token. */
                client_id: components["parameters"]["ClientId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Limits and what is used of them. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Limits"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Problem"];
        };
    };
    createCallback: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The extension's numeric id, or `@me` for the extension of the token's application. */
                extension_id: components["parameters"]["ExtensionId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CallbackRequest"];
            };
        };
        responses: {
            /** @description The call is being set up. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CallbackResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
            default: components["responses"]["Problem"];
        };
    };
    ingestEvent: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["IntakeEvent"];
            };
        };
        responses: {
            /** @description Accepted and stored. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IntakeResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
            default: components["responses"]["Problem"];
        };
    };
    ingestEvents: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["IntakeBatch"];
            };
        };
        responses: {
            /** @description All accepted and stored. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IntakeBatchResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
            default: components["responses"]["Problem"];
        };
    };
    simulateCall: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SimulationRequest"];
            };
        };
        responses: {
            /**
             * @description The call is under way; its events follow with the scenario's timing. Each of the
             *     `events` is stored: a server that shuts down first plays a call's remaining events at
             *     once (with their planned `EventTime`s) before it closes its store.
             */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SimulationResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Problem"];
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Up, and the store answers. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            /** @description Up, but the store does not answer. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    dialInGet: {
        parameters: {
            query: {
                event: components["schemas"]["DialInEvent"];
            };
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    dialInPost: {
        parameters: {
            query?: never;
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["DialInEvent"];
            };
        };
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    dialOutGet: {
        parameters: {
            query: {
                event: components["schemas"]["DialOutEvent"];
            };
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    dialOutPost: {
        parameters: {
            query?: never;
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["DialOutEvent"];
            };
        };
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    answerGet: {
        parameters: {
            query: {
                event: components["schemas"]["AnswerEvent"];
            };
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    answerPost: {
        parameters: {
            query?: never;
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["AnswerEvent"];
            };
        };
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    hangupGet: {
        parameters: {
            query: {
                event: components["schemas"]["HangupEvent"];
            };
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    hangupPost: {
        parameters: {
            query?: never;
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["HangupEvent"];
            };
        };
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    voicemailGet: {
        parameters: {
            query: {
                event: components["schemas"]["VoicemailEvent"];
            };
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    voicemailPost: {
        parameters: {
            query?: never;
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["VoicemailEvent"];
            };
        };
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    messageInGet: {
        parameters: {
            query: {
                event: components["schemas"]["MessageInEvent"];
            };
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    messageInPost: {
        parameters: {
            query?: never;
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["MessageInEvent"];
            };
        };
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    messageOutGet: {
        parameters: {
            query: {
                event: components["schemas"]["MessageOutEvent"];
            };
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
    messageOutPost: {
        parameters: {
            query?: never;
            header: {
                /** @description The delivery id; the same on every retry of one delivery. Deduplicate on it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description Unix seconds when this attempt was signed. Refuse ones far from now (±5 min). */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /**
                 * @description Space-separated `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${payload}`;
                 *     `payload` is the raw body (POST) or the raw query string (GET). One entry per active secret.
                 */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["MessageOutEvent"];
            };
        };
        responses: {
            410: components["responses"]["WebhookGone"];
            "2XX": components["responses"]["WebhookAccepted"];
        };
    };
}
