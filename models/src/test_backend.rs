//! The backend unit tests run on.

pub type TB = burn::backend::Flex;

pub fn device() -> burn::backend::flex::FlexDevice {
    Default::default()
}
