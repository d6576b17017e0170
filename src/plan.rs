//! The pure plan. (Being written.)
