//! IAM input rules checked before any call. (Being written.)
