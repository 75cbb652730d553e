// File: core/ua/request_builder.h
//
// The SIP text an emulated RFC 5626 phone sends, written into a caller
// buffer without allocation: its REGISTER (one per flow and refresh), the
// 180 / 200 it answers incoming requests with, and an outgoing INVITE or
// MESSAGE with `;ob` on the Contact.
//
//   char buffer[fe::ua::kUaMessageSizeMax];
//   fe::ua::RegisterParams p;
//   p.domain = "example.com"; p.user = "u1"; p.local_host = "192.0.2.10"; p.local_port = 40000;
//   p.call_id = flow.call_id(); p.from_tag = flow.from_tag(); p.instance_urn = id.urn();
//   p.cseq = action.cseq; p.branch = action.branch; p.reg_id = action.reg_id;
//   p.expires_s = action.expires_s;
//   fe::ua::BuildResult r = fe::ua::build_register(p, buffer);
//   if (r.ok()) { send(r.message); }   // view into `buffer`
//
// A REGISTER looks like this (CRLF line ends, Route only when set):
//
//   REGISTER sip:example.com SIP/2.0
//   Via: SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bK00000000000000ff;rport
//   Max-Forwards: 70
//   Route: <sip:edge1.example.com;lr>
//   From: <sip:u1@example.com>;tag=TAG
//   To: <sip:u1@example.com>
//   Call-ID: CALLID
//   CSeq: 1 REGISTER
//   Supported: path, outbound
//   Contact: <sip:u1@192.0.2.10:40000;transport=tcp>;reg-id=1;+sip.instance="<urn:uuid:...>"
//   Expires: 3600
//   Content-Length: 0
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/base/endpoint.h"

namespace fe::ua {

enum class BuildError : uint8_t {
    kNone,
    kBufferTooSmall,  // nothing usable was written; retry with kUaMessageSizeMax
};

struct [[nodiscard]] BuildResult {
    BuildError error = BuildError::kNone;
    // The whole message; points into the caller's buffer, valid while it is.
    std::string_view message;

    bool ok() const { return error == BuildError::kNone; }
};

struct RegisterParams {
    std::string_view domain;      // Request-URI `sip:DOMAIN` and the AOR's host
    std::string_view user;        // AOR user, also the Contact user
    std::string_view local_host;  // Via sent-by and Contact host (address the UA sends from)
    uint16_t local_port = 0;
    Transport transport = Transport::kTcp;
    // Outbound proxy URI for the loose Route (OB-UA-15), e.g. "sip:ep1.example.com";
    // empty: no Route header.
    std::string_view route_uri;
    std::string_view call_id;  // one per flow, kept across refreshes (OB-UA-15, OB-BO-01)
    std::string_view from_tag;
    uint32_t cseq = 1;
    uint64_t branch = 0;  // printed as 16 hex digits after the z9hG4bK cookie
    // reg-id of the flow (OB-UA-12); 0 leaves it out (plain registration after
    // a 439, OB-439-03, or a third-party registration, OB-UA-22).
    uint32_t reg_id = 0;
    std::string_view instance_urn;  // "urn:uuid:..."; empty leaves +sip.instance out
    uint32_t expires_s = 3600;      // 0 removes the binding
};

// REGISTER as shown in the banner. Supported: path, outbound always
// (OB-UA-10/14); Via with rport (OB-UA-29); no `ob` in a REGISTER Contact.
BuildResult build_register(const RegisterParams& params, std::span<char> buffer);

// A response of the phone to a request it received. The request's header
// lines are passed whole ("Via: SIP/2.0/TCP ...", without CRLF) and copied
// unchanged, in order, as RFC 3261 §8.2.6.2 asks.
struct ResponseParams {
    uint16_t status_code = 200;
    std::string_view reason = "OK";
    std::span<const std::string_view> via_lines;  // every Via line, top first
    std::string_view from_line;
    std::string_view to_line;
    std::string_view call_id_line;
    std::string_view cseq_line;
    // Added as `;tag=` to the To line when it has no tag yet (status > 100).
    std::string_view to_tag;
    // Optional Contact value, e.g. "<sip:u1@192.0.2.10:40000;transport=tcp;ob>".
    std::string_view contact;
    std::string_view content_type;  // required when body is not empty
    std::string_view body;
};

BuildResult build_response(const ResponseParams& params, std::span<char> buffer);

enum class RequestMethod : uint8_t {
    kInvite,
    kMessage,
};

// An out-of-dialog request from the phone (a caller): Contact carries `;ob`
// so that in-dialog requests come back over this flow (OB-OBP-04, OB-UA-28)
// and Supported carries `outbound` (OB-UA-24).
struct RequestParams {
    RequestMethod method = RequestMethod::kInvite;
    std::string_view target_uri;  // Request-URI and To, e.g. "sip:u2@example.com"
    std::string_view domain;      // the caller's AOR host
    std::string_view user;        // the caller's AOR user, also the Contact user
    std::string_view local_host;
    uint16_t local_port = 0;
    Transport transport = Transport::kTcp;
    std::string_view route_uri;  // empty: no Route header
    std::string_view call_id;
    std::string_view from_tag;
    uint32_t cseq = 1;
    uint64_t branch = 0;
    std::string_view instance_urn;  // empty leaves +sip.instance out of the Contact
    std::string_view content_type;  // required when body is not empty
    std::string_view body;
};

BuildResult build_request(const RequestParams& params, std::span<char> buffer);

// Whether a From/To header line already carries a tag parameter (outside the
// angle brackets of its URI). Exposed for tests and drivers.
bool header_line_has_tag(std::string_view line);

}  // namespace fe::ua
