//! Feeds arbitrary bytes through the frame codec and the message decoder:
//! nothing may panic, and a decoded message must re-encode and decode to
//! itself.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use tractor::ipc::FrameCodec;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = tractor::msg::decode(data) {
        let again = tractor::msg::encode(&m);
        assert_eq!(tractor::msg::decode(&again).ok(), Some(m));
    }
    let mut codec = FrameCodec::new(64 * 1024);
    let mut buf = BytesMut::from(data);
    while let Ok(Some(_)) = codec.decode(&mut buf) {}
    let _ = codec.decode_eof(&mut buf);
});
