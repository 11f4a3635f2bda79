//! Wire types of the KATO real-time protocol (PROTOCOL.md). Shared by the server, the
//! end-to-end tests, the load tools and (through generated declarations) the JS client.
//! Types only: no IO, no server logic.
