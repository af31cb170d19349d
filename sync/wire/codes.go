package wire

import "fmt"

// Code is a protocol error code. Codes below 20 are fatal: the relay sends
// an Error and closes the WebSocket with status CloseBase+code. Codes from
// 20 on answer one request and leave the session open.
type Code uint16

// CloseBase is added to a fatal Code to form the WebSocket close status
// (the 4000-4999 range is reserved for applications by RFC 6455).
const CloseBase = 4000

// Fatal codes.
const (
	CodeBadFrame     Code = 1  // undecodable frame or message
	CodeTooLarge     Code = 2  // frame or decompressed payload over the limit
	CodeBadVersion   Code = 3  // unsupported protocol version
	CodeUnauthorized Code = 4  // missing or unknown token (HTTP 401 at the handshake)
	CodeForbidden    Code = 5  // the token does not belong to the claimed device id
	CodeProtocol     Code = 6  // a message not allowed in the session's state
	CodeRateLimited  Code = 7  // the device sent too many messages
	CodeBusy         Code = 8  // the relay is at its session limit (RetryLater precedes)
	CodeBadResume    Code = 9  // a resume token that does not match the session
	CodeReplaced     Code = 10 // a newer connection took over this session
	CodeShutdown     Code = 11 // the relay is shutting down (RetryLater precedes)
	CodeInternal     Code = 12 // the relay failed (storage); retry later
)

// Request-level codes.
const (
	CodeStaleOffset   Code = 20 // chunk offset != durable offset (Error.Offset has it)
	CodeBadChecksum   Code = 21 // chunk or whole-update CRC-32C mismatch
	CodeWrongRound    Code = 22 // upload or stage for a round that is not current
	CodeDuplicate     Code = 23 // the device's update for this round is already counted
	CodeUnknownUpload Code = 24 // upload id not issued to this device this round
	CodeBadUpdate     Code = 25 // the aggregator rejected the update (NaN/Inf, shape)
	CodeLate          Code = 26 // the round's deadline has passed
	CodeNotSelected   Code = 27 // the device is not a participant of the round
	CodeUnknownModel  Code = 28 // no blob with that hash
	CodeUpdateTooBig  Code = 29 // declared size over Task.MaxUpdate
	CodeBadStage      Code = 30 // stage message for a stage that is not open
)

var codeNames = map[Code]string{
	CodeBadFrame: "bad_frame", CodeTooLarge: "too_large", CodeBadVersion: "bad_version",
	CodeUnauthorized: "unauthorized", CodeForbidden: "forbidden", CodeProtocol: "protocol",
	CodeRateLimited: "rate_limited", CodeBusy: "busy", CodeBadResume: "bad_resume",
	CodeReplaced: "replaced", CodeShutdown: "shutdown", CodeInternal: "internal",
	CodeStaleOffset: "stale_offset", CodeBadChecksum: "bad_checksum", CodeWrongRound: "wrong_round",
	CodeDuplicate: "duplicate", CodeUnknownUpload: "unknown_upload", CodeBadUpdate: "bad_update",
	CodeLate: "late", CodeNotSelected: "not_selected", CodeUnknownModel: "unknown_model",
	CodeUpdateTooBig: "update_too_big", CodeBadStage: "bad_stage",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code(%d)", uint16(c))
}

// Fatal reports whether the code ends the connection.
func (c Code) Fatal() bool { return c < 20 }

// CloseStatus is the WebSocket close status for a fatal code.
func (c Code) CloseStatus() int { return CloseBase + int(c) }

// CodeFromClose maps a WebSocket close status back to a Code (0 if it is
// not one of ours).
func CodeFromClose(status int) Code {
	if status > CloseBase && status < CloseBase+20 {
		return Code(status - CloseBase)
	}
	return 0
}
