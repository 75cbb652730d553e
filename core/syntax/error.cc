#include "core/syntax/error.h"

namespace fe::syntax {

std::string_view error_text(Error e) {
    switch (e) {
        case Error::kOk: return "ok";
        case Error::kEmpty: return "empty value";
        case Error::kTooLong: return "value too long";
        case Error::kBadScheme: return "bad uri scheme";
        case Error::kUnsupportedScheme: return "unsupported uri scheme";
        case Error::kBadUser: return "bad uri user";
        case Error::kBadPassword: return "bad uri password";
        case Error::kBadEscape: return "bad escape";
        case Error::kMissingHost: return "missing host";
        case Error::kBadHost: return "bad host";
        case Error::kHostTooLong: return "host too long";
        case Error::kBadIpv4: return "bad ipv4 address";
        case Error::kBadIpv6: return "bad ipv6 reference";
        case Error::kBadPort: return "bad port";
        case Error::kPortOutOfRange: return "port out of range";
        case Error::kBadParamName: return "bad parameter name";
        case Error::kBadParamValue: return "bad parameter value";
        case Error::kExpectedSemicolon: return "expected semicolon";
        case Error::kTooManyParams: return "too many parameters";
        case Error::kDuplicateParam: return "duplicate parameter";
        case Error::kUnterminatedQuote: return "unterminated quoted string";
        case Error::kBadQuotedString: return "bad quoted string";
        case Error::kBadUriHeader: return "bad uri header";
        case Error::kTooManyUriHeaders: return "too many uri headers";
        case Error::kBadTelNumber: return "bad tel number";
        case Error::kMissingPhoneContext: return "missing phone-context";
        case Error::kBadDisplayName: return "bad display name";
        case Error::kUnterminatedAngle: return "unterminated angle bracket";
        case Error::kTrailingGarbage: return "trailing garbage";
        case Error::kBadSentProtocol: return "bad via sent-protocol";
        case Error::kMissingSentBy: return "missing via sent-by";
        case Error::kBadBranch: return "bad via branch";
        case Error::kBadReceived: return "bad via received";
        case Error::kBadRport: return "bad via rport";
        case Error::kBadTtl: return "bad via ttl";
        case Error::kBadMaddr: return "bad maddr";
        case Error::kBadKeep: return "bad via keep";
        case Error::kBadExpires: return "bad expires";
        case Error::kBadQValue: return "bad q value";
        case Error::kBadInstance: return "bad +sip.instance";
        case Error::kBadRegId: return "bad reg-id";
        case Error::kBadStar: return "bad contact star";
        case Error::kNotANumber: return "not a number";
        case Error::kNumberOutOfRange: return "number out of range";
        case Error::kBadToken: return "bad token";
        case Error::kMissingMethod: return "missing method";
        case Error::kBadComment: return "bad comment";
        case Error::kBufferTooSmall: return "buffer too small";
    }
    return "unknown error";
}

}  // namespace fe::syntax
