//! [`MsgStream`]: the bidirectional stream inside a [`Context`].
//!
//! Items travel as `Yield` messages; each side ends its direction with
//! `Stop` ([`MsgStream::close`]); a receiver sees `Ok(None)` at the peer's
//! `Stop` (or at the callee's return). A payload that does not decode as
//! the stream's type is refused with a `MsgTypeError` sent back to its
//! sender, and reported locally; neither actor crashes.
//!
//! Dropping a stream without `close` still ends it: the opener's
//! `result()` and the callee's return both send the `Stop` it owed first.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::Error;
use crate::msg::{Msg, Payload, PayloadKind, Value};
use crate::runtime::dialog::context::{AnySide, Context, Event};

/// One side of a context's stream, typed `T` both ways.
#[derive(Debug)]
pub struct MsgStream<T> {
    ctx: Context<AnySide>,
    closed: bool,
    ended: bool,
    _t: PhantomData<fn(T) -> T>,
}

impl<T: Serialize + DeserializeOwned> MsgStream<T> {
    pub(crate) fn new(ctx: Context<AnySide>) -> Self {
        MsgStream {
            ctx,
            closed: false,
            ended: false,
            _t: PhantomData,
        }
    }

    /// The context this stream belongs to.
    pub fn context(&self) -> &Context<AnySide> {
        &self.ctx
    }

    /// Sends one item.
    pub async fn send(&self, item: &T) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Config(
                "send() on a stream this side already closed".into(),
            ));
        }
        self.ctx.send_payload(PayloadKind::Yield, item).await
    }

    /// Sends an already-encoded item.
    pub async fn send_value(&self, pld: Value) -> Result<(), Error> {
        self.ctx
            .send(Msg::Yield(Payload {
                cid: self.ctx.cid().to_owned(),
                pld,
            }))
            .await
    }

    /// The next item; `Ok(None)` once the other side closed its direction
    /// (or the context ended with a result).
    pub async fn recv(&mut self) -> Result<Option<T>, Error> {
        if self.ended {
            return Ok(None);
        }
        match self.ctx.next_event().await? {
            // Decoded straight from the frame's bytes; they are kept to
            // send back if they do not fit.
            Event::Item(pld) => match pld.decode::<T>() {
                Ok(v) => Ok(Some(v)),
                Err(e) => {
                    let bad = Msg::Yield(Payload {
                        cid: self.ctx.cid().to_owned(),
                        pld: Value::Nil,
                    });
                    // Boxed: the rare path does not make every `recv`
                    // future (moved on each poll) the size of its own.
                    Err(Box::pin(
                        self.ctx
                            .reject_payload(bad, &pld, format!("stream item: {e}")),
                    )
                    .await)
                }
            },
            Event::Stop => {
                self.ended = true;
                Ok(None)
            }
            Event::Done => {
                self.ended = true;
                let outcome = crate::runtime::peer::lock(&self.ctx.inner.state)
                    .outcome
                    .clone();
                match outcome {
                    Some(Err(e)) => Err(crate::errors::RemoteActorError::from_msg(e).into()),
                    _ => Ok(None),
                }
            }
        }
    }

    /// Ends this side's direction (sends `Stop` once).
    pub async fn close(&mut self) -> Result<(), Error> {
        self.closed = true;
        self.ctx.send_stop_once().await
    }
}
