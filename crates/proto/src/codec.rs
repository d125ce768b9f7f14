//! The codec of every civic service: protobuf as `tonic_prost` does it, except that
//! - a body that does not decode is the sender's error (INVALID_ARGUMENT with a plain message),
//!   not INTERNAL with the decoder's own words and field paths;
//! - a request message larger than [`REQUEST_LIMIT`] is refused before it is decoded, unless it
//!   is a bulk import (`Import…Request`, bounded by the server's message limit): protobuf
//!   decoding can multiply a small body many times over (an empty repeated message is two
//!   bytes on the wire and a hundred in memory), so ordinary calls stay small.

use tonic::{
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
    Code, Status,
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// Largest request message of an ordinary call: far above any real household, proposal or
/// scheme, far below what would take a server's memory.
pub const REQUEST_LIMIT: usize = 1024 * 1024;

/// Whether `U` is a bulk import request, which may use the whole message limit.
fn is_bulk<U>() -> bool {
    let name = std::any::type_name::<U>();
    let last = name.rsplit("::").next().unwrap_or(name);
    last.starts_with("Import") && last.ends_with("Request")
}

/// Whether `U` is a request (responses are bounded by the message limit alone).
fn is_request<U>() -> bool {
    std::any::type_name::<U>().ends_with("Request")
}

#[derive(Debug, Clone)]
pub struct CivicCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Default for CivicCodec<T, U> {
    fn default() -> Self {
        CivicCodec(ProstCodec::default())
    }
}

impl<T, U> Codec for CivicCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = CivicDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        CivicDecoder(self.0.decoder())
    }
}

#[derive(Debug)]
pub struct CivicDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for CivicDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        use prost::bytes::Buf;
        if buf.remaining() > REQUEST_LIMIT && is_request::<U>() && !is_bulk::<U>() {
            return Err(Status::invalid_argument(format!(
                "the request is {} bytes; this call takes at most {REQUEST_LIMIT} (only imports take more)",
                buf.remaining()
            )));
        }
        self.0.decode(buf).map_err(|s| match s.code() {
            Code::Internal => {
                Status::invalid_argument("the message is not valid protobuf of this method's message type")
            }
            _ => s,
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bulk_imports_and_requests_are_told_apart() {
        use crate::{assistance::v1 as a, land::v1 as l};
        assert!(super::is_bulk::<a::ImportRollRequest>());
        assert!(super::is_bulk::<l::ImportEnterpriseFiguresRequest>());
        assert!(!super::is_bulk::<a::ComputeHouseholdBenefitRequest>());
        assert!(super::is_request::<a::ComputeHouseholdBenefitRequest>());
        assert!(!super::is_request::<a::ExportRollResponse>());
    }
}
