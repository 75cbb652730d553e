// A JsSIP user agent (the SIP stack of many browser and WebRTC apps) run
// headless under Node.js, with the `ws` package as its WebSocket, for
// tests/integration/test_ws.py. It registers over a WebSocket (RFC 7118,
// JsSIP always registers with +sip.instance and reg-id: RFC 5626 outbound)
// and prints one JSON object per line on stdout for each event the test
// waits for. An incoming MESSAGE is answered 200 by JsSIP itself; an
// incoming INVITE is answered 486 (there is no WebRTC media stack here).
//
//   node ua.js ws://127.0.0.1:8080 sip:alice@example.com
'use strict';

global.WebSocket = require('ws');  // JsSIP's WebSocketInterface uses the global
// JsSIP takes an INVITE only where WebRTC exists (window.RTCPeerConnection);
// it makes a peer connection only to answer, which this UA never does.
global.window = {
    RTCPeerConnection: function RTCPeerConnection() {
        throw new Error('no WebRTC media stack here');
    },
};
const JsSIP = require('jssip');

const [url, uri] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(url)],
    uri,
    register: true,
    register_expires: 600,
    session_timers: false,
    connection_recovery_min_interval: 30,
    connection_recovery_max_interval: 60,
});

ua.on('connected', () => out({ event: 'connected' }));
ua.on('disconnected', () => out({ event: 'disconnected' }));
ua.on('registered', (e) => out({
    event: 'registered',
    path: e.response.getHeader('Path') || '',
    require: e.response.getHeader('Require') || '',
}));
ua.on('registrationFailed', (e) => out({ event: 'registrationFailed', cause: e.cause }));
ua.on('newMessage', (e) => {
    if (e.originator === 'remote') {
        out({ event: 'message', body: e.request.body, from: e.request.from.uri.toString() });
    }
});
ua.on('newRTCSession', (e) => {
    if (e.originator !== 'remote') {
        return;
    }
    out({
        event: 'invite',
        ruri: e.request.ruri.toString(),
        record_route: e.request.getHeaders('Record-Route'),
    });
    e.session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
});

process.on('SIGTERM', () => {
    ua.stop();
    setTimeout(() => process.exit(0), 500);
});
ua.start();
