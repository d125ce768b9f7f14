//! The codec of every civic service: protobuf as `tonic_prost` does it, except that a body that
//! does not decode is the sender's error (INVALID_ARGUMENT with a plain message), not INTERNAL
//! with the decoder's own words and field paths.

use tonic::{
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
    Code, Status,
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

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
