//! The one pseudo-random generator of the tests: a 64-bit LCG (Knuth's
//! MMIX constants), so every run of a seeded test makes the same choices.

/// A linear congruential generator; its state is the seed.
#[derive(Clone, Debug)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The next state.
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }

    /// A number below `n` (from the state's high bits).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 33) % n.max(1) as u64) as usize
    }
}
