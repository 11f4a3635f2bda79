//! WebSocket close codes (PROTOCOL.md §7) and what a client should do after each. The numbers
//! are part of the wire contract: never renumber one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why the server closed the connection. On the wire: the close frame's numeric code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CloseCode {
    /// 1000: normal closure.
    Normal,
    /// 4000: the server is shutting down; another instance can serve the session.
    ServerShuttingDown,
    /// 4001: bad or missing credentials.
    Unauthorized,
    /// 4002: the token expired without an in-band `refresh`.
    TokenExpired,
    /// 4003: the credentials do not allow this session or node.
    Forbidden,
    /// 4004: the session does not exist or expired.
    SessionNotFound,
    /// 4008: the connection's outbound queue overflowed (slow consumer).
    SlowConsumer,
    /// 4009: an inbound frame exceeded the size limit.
    FrameTooLarge,
    /// 4012: no pong to the server's ping in time.
    NoPong,
    /// 4029: sustained rate-limit abuse.
    RateLimitAbuse,
    /// 4400: repeated non-JSON or binary frames.
    ProtocolError,
}

/// What a client should do after a close (PROTOCOL.md §7, column "client should").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReconnectPolicy {
    /// Do not reconnect.
    Stop,
    /// Do not reconnect until the user supplies new credentials.
    StopAndAskForCredentials,
    /// Do not reconnect: the client sent something it never should (a bug in the client).
    StopClientBug,
    /// Reconnect at once (another instance will take the session).
    ReconnectNow,
    /// Reconnect after obtaining a fresh token.
    ReconnectWithFreshToken,
    /// Reconnect and create a new session (the old one is gone).
    CreateNewSession,
    /// Reconnect with exponential backoff.
    ReconnectWithBackoff,
    /// Reconnect with a longer backoff than `reconnect_with_backoff` (the server was abused).
    ReconnectWithLongerBackoff,
}

impl CloseCode {
    /// Every close code, in the order of PROTOCOL.md §7.
    pub const ALL: [CloseCode; 11] = [
        CloseCode::Normal,
        CloseCode::ServerShuttingDown,
        CloseCode::Unauthorized,
        CloseCode::TokenExpired,
        CloseCode::Forbidden,
        CloseCode::SessionNotFound,
        CloseCode::SlowConsumer,
        CloseCode::FrameTooLarge,
        CloseCode::NoPong,
        CloseCode::RateLimitAbuse,
        CloseCode::ProtocolError,
    ];

    /// The numeric code sent in the close frame.
    pub fn code(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::ServerShuttingDown => 4000,
            CloseCode::Unauthorized => 4001,
            CloseCode::TokenExpired => 4002,
            CloseCode::Forbidden => 4003,
            CloseCode::SessionNotFound => 4004,
            CloseCode::SlowConsumer => 4008,
            CloseCode::FrameTooLarge => 4009,
            CloseCode::NoPong => 4012,
            CloseCode::RateLimitAbuse => 4029,
            CloseCode::ProtocolError => 4400,
        }
    }

    /// The close code for a number received in a close frame; `None` for codes KATO never sends.
    pub fn from_code(code: u16) -> Option<CloseCode> {
        CloseCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// What the client should do next (PROTOCOL.md §7).
    pub fn reconnect_policy(self) -> ReconnectPolicy {
        match self {
            CloseCode::Normal | CloseCode::Forbidden => ReconnectPolicy::Stop,
            CloseCode::Unauthorized => ReconnectPolicy::StopAndAskForCredentials,
            CloseCode::FrameTooLarge | CloseCode::ProtocolError => ReconnectPolicy::StopClientBug,
            CloseCode::ServerShuttingDown => ReconnectPolicy::ReconnectNow,
            CloseCode::TokenExpired => ReconnectPolicy::ReconnectWithFreshToken,
            CloseCode::SessionNotFound => ReconnectPolicy::CreateNewSession,
            CloseCode::SlowConsumer | CloseCode::NoPong => ReconnectPolicy::ReconnectWithBackoff,
            CloseCode::RateLimitAbuse => ReconnectPolicy::ReconnectWithLongerBackoff,
        }
    }

    /// A short reason for the close frame (at most 123 bytes, as RFC 6455 allows).
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::Normal => "normal",
            CloseCode::ServerShuttingDown => "server shutting down",
            CloseCode::Unauthorized => "unauthorized",
            CloseCode::TokenExpired => "token expired",
            CloseCode::Forbidden => "forbidden",
            CloseCode::SessionNotFound => "session not found",
            CloseCode::SlowConsumer => "slow consumer",
            CloseCode::FrameTooLarge => "frame too large",
            CloseCode::NoPong => "no pong",
            CloseCode::RateLimitAbuse => "rate limit abuse",
            CloseCode::ProtocolError => "protocol error",
        }
    }
}

impl ReconnectPolicy {
    /// True when the client may open a new connection without outside help.
    pub fn reconnects(self) -> bool {
        !matches!(
            self,
            ReconnectPolicy::Stop
                | ReconnectPolicy::StopAndAskForCredentials
                | ReconnectPolicy::StopClientBug
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PROTOCOL.md §7, one row a code.
    const TABLE: [(u16, ReconnectPolicy); 11] = [
        (1000, ReconnectPolicy::Stop),
        (4000, ReconnectPolicy::ReconnectNow),
        (4001, ReconnectPolicy::StopAndAskForCredentials),
        (4002, ReconnectPolicy::ReconnectWithFreshToken),
        (4003, ReconnectPolicy::Stop),
        (4004, ReconnectPolicy::CreateNewSession),
        (4008, ReconnectPolicy::ReconnectWithBackoff),
        (4009, ReconnectPolicy::StopClientBug),
        (4012, ReconnectPolicy::ReconnectWithBackoff),
        (4029, ReconnectPolicy::ReconnectWithLongerBackoff),
        (4400, ReconnectPolicy::StopClientBug),
    ];

    #[test]
    fn every_close_code_maps_to_its_number_and_policy() {
        assert_eq!(TABLE.len(), CloseCode::ALL.len());
        for (number, policy) in TABLE {
            let code = CloseCode::from_code(number).unwrap_or_else(|| panic!("{number} unknown"));
            assert_eq!(code.code(), number);
            assert_eq!(code.reconnect_policy(), policy, "{number}");
            assert!(code.reason().len() <= 123);
        }
    }

    #[test]
    fn codes_kato_never_sends_are_unknown() {
        for number in [0, 1001, 1006, 1011, 3000, 4005, 4999] {
            assert_eq!(CloseCode::from_code(number), None, "{number}");
        }
    }

    #[test]
    fn only_the_stop_policies_do_not_reconnect() {
        let stopping: Vec<u16> = CloseCode::ALL
            .into_iter()
            .filter(|c| !c.reconnect_policy().reconnects())
            .map(CloseCode::code)
            .collect();
        assert_eq!(stopping, [1000, 4001, 4003, 4009, 4400]);
    }
}
