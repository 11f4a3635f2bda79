//! Matching primitives of ALGORITHM.md §4.3/§4.4: difflib-style matching blocks (no junk), the true
//! LCS length, RapidFuzz `fuzz.ratio`, and the similarity formulas built on them. This runs for every
//! candidate pattern on every prediction: it must stay allocation-free in the hot path (reuse a
//! [`Scratch`] or a [`StateMatcher`]) and must never panic, whatever the input.

use std::hash::{Hash, Hasher};

/// A matching block: `a[a..a + size] == b[b..b + size]` (difflib's `Match(a, b, size)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub a: usize,
    pub b: usize,
    pub size: usize,
}

/// Reusable buffers for the matching primitives, so that a caller running thousands of matches
/// allocates only while the buffers grow to the longest input seen. One per thread.
///
/// To score many patterns against one state, [`StateMatcher`] is faster still: it indexes the
/// state once instead of comparing every token pair.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    search: BlockSearch,
    windows: Vec<Window>,
    lcs: LcsBuffers,
    /// Code points of the two strings of character mode (§4.3).
    chars_a: Vec<char>,
    chars_b: Vec<char>,
    /// Blocks of `uncovered`.
    blocks: Vec<Block>,
}

impl Scratch {
    pub fn new() -> Self {
        Self::default()
    }

    /// See [`find_longest_match`].
    pub fn find_longest_match<T: Copy + Eq>(
        &mut self,
        a: &[T],
        b: &[T],
        alo: usize,
        ahi: usize,
        blo: usize,
        bhi: usize,
    ) -> Block {
        // Clamp the window to the inputs instead of panicking; an empty window matches nothing
        // and, as in difflib, answers `(alo, blo, 0)` with the caller's own bounds.
        let (ahi_c, bhi_c) = (ahi.min(a.len()), bhi.min(b.len()));
        let (alo_c, blo_c) = (alo.min(ahi_c), blo.min(bhi_c));
        let (a_win, b_win) = (&a[alo_c..ahi_c], &b[blo_c..bhi_c]);
        self.search.prepare_by_compare(a_win, b_win);
        let found = self.search.longest(Window::whole(a_win.len(), b_win.len()));
        if found.size == 0 {
            return Block {
                a: alo,
                b: blo,
                size: 0,
            };
        }
        Block {
            a: alo_c + found.a,
            b: blo_c + found.b,
            size: found.size,
        }
    }

    /// See [`matching_blocks`]; the blocks are written to `out` (cleared first).
    pub fn matching_blocks<T: Copy + Eq>(&mut self, a: &[T], b: &[T], out: &mut Vec<Block>) {
        self.search.prepare_by_compare(a, b);
        split_into_blocks(&mut self.search, &mut self.windows, a.len(), b.len(), out);
    }

    /// See [`lcs_len`].
    pub fn lcs_len<T: Copy + Eq>(&mut self, a: &[T], b: &[T]) -> usize {
        self.lcs.lcs_len(a, b)
    }

    /// See [`fuzz_ratio`].
    pub fn fuzz_ratio(&mut self, a: &str, b: &str) -> f64 {
        if a.is_ascii() && b.is_ascii() {
            // One byte is one code point: no decoding, and byte compares vectorise best.
            let lcs = self.lcs.lcs_len(a.as_bytes(), b.as_bytes());
            return indel_ratio(lcs, a.len() + b.len());
        }
        self.chars_a.clear();
        self.chars_a.extend(a.chars());
        self.chars_b.clear();
        self.chars_b.extend(b.chars());
        let lcs = self.lcs.lcs_len(&self.chars_a, &self.chars_b);
        indel_ratio(lcs, self.chars_a.len() + self.chars_b.len())
    }

    /// See [`char_similarity`].
    pub fn char_similarity<A: AsRef<str>, B: AsRef<str>>(
        &mut self,
        a_tokens: &[A],
        b_tokens: &[B],
    ) -> f64 {
        // `" ".join(tokens)` as code points, without building the joined `String`s.
        self.chars_a.clear();
        self.chars_a.extend(joined_chars(a_tokens));
        self.chars_b.clear();
        self.chars_b.extend(joined_chars(b_tokens));
        let lcs = self.lcs.lcs_len(&self.chars_a, &self.chars_b);
        indel_ratio(lcs, self.chars_a.len() + self.chars_b.len()) / 100.0
    }

    /// See [`uncovered`]; the indices are written to `missing` (of `a`) and `extras` (of `b`),
    /// both cleared first, in ascending order.
    pub fn uncovered<T: Copy + Eq>(
        &mut self,
        a: &[T],
        b: &[T],
        missing: &mut Vec<usize>,
        extras: &mut Vec<usize>,
    ) {
        let mut blocks = std::mem::take(&mut self.blocks);
        self.matching_blocks(a, b, &mut blocks);
        uncovered_by(&blocks, a.len(), b.len(), missing, extras);
        self.blocks = blocks;
    }

    /// See [`best_fuzzy_match`].
    pub fn best_fuzzy_match<S: AsRef<str>>(
        &mut self,
        token: &str,
        pattern: &[S],
        min_score: f64,
    ) -> Option<(usize, f64)> {
        let token_len = token.chars().count();
        let mut best: Option<(usize, f64)> = None;
        for (index, candidate) in pattern.iter().enumerate() {
            let candidate = candidate.as_ref();
            let score = if candidate == token {
                100.0
            } else {
                // The ratio cannot exceed the one of an LCS as long as the shorter string; the
                // formula is monotone in the LCS length, so this bound is exact to the bit.
                let candidate_len = candidate.chars().count();
                let bound = indel_ratio(token_len.min(candidate_len), token_len + candidate_len);
                if bound < min_score || best.is_some_and(|(_, s)| bound <= s) {
                    continue;
                }
                self.fuzz_ratio(token, candidate)
            };
            // Upstream keeps a candidate only if strictly better than the best so far (which
            // starts at 0), so the first of equal scores wins and a score of 0 never matches.
            if score >= min_score && score > best.map_or(0.0, |(_, s)| s) {
                best = Some((index, score));
                if score >= 100.0 {
                    break; // only an identical token scores 100: nothing can beat it
                }
            }
        }
        best
    }
}

/// The state `B` of ALGORITHM.md §4.3/§4.4 indexed once per prediction and then matched against
/// every candidate pattern: each distinct state token's positions are kept as bit masks in a small
/// hash table, so a pattern costs one lookup per token instead of one compare per token pair.
/// Every answer equals the free function's (`lcs_len(pattern, state)`, `matching_blocks(pattern,
/// state)`, …). Lookups against states of up to 64 tokens are branch-free, so their speed does
/// not depend on how many pattern tokens occur in the state.
#[derive(Debug, Clone)]
pub struct StateMatcher<T> {
    index: StateIndex<T>,
    /// Bit vector of the multi-word LCS.
    bits: Vec<u64>,
    search: BlockSearch,
    windows: Vec<Window>,
    blocks: Vec<Block>,
}

impl<T: Copy + Eq + Hash> Default for StateMatcher<T> {
    fn default() -> Self {
        Self {
            index: StateIndex::default(),
            bits: Vec::new(),
            search: BlockSearch::default(),
            windows: Vec::new(),
            blocks: Vec::new(),
        }
    }
}

impl<T: Copy + Eq + Hash> StateMatcher<T> {
    pub fn new(state: &[T]) -> Self {
        let mut matcher = Self::default();
        matcher.reset(state);
        matcher
    }

    /// Indexes a new state, reusing the buffers.
    pub fn reset(&mut self, state: &[T]) {
        self.index.reset(state.iter().copied());
    }

    /// [`StateMatcher::reset`] from an iterator (e.g. the code points of the joined state).
    pub fn reset_iter<I: IntoIterator<Item = T>>(&mut self, state: I) {
        self.index.reset(state);
    }

    /// The indexed state.
    pub fn state(&self) -> &[T] {
        &self.index.state
    }

    /// `lcs_len(pattern, state)`.
    pub fn lcs_len(&mut self, pattern: &[T]) -> usize {
        self.lcs_len_iter(pattern.iter().copied())
    }

    /// `token_similarity(lcs_len(pattern, state), pattern.len(), state.len())` (§4.3).
    pub fn token_similarity(&mut self, pattern: &[T]) -> f64 {
        let lcs = self.lcs_len(pattern);
        token_similarity(lcs, pattern.len(), self.index.state.len())
    }

    /// `lcs_len` of a pattern given as an iterator, which is always consumed to the end.
    pub fn lcs_len_iter<I: IntoIterator<Item = T>>(&mut self, pattern: I) -> usize {
        let index = &self.index;
        match (index.words, index.probes) {
            (0, _) => {
                pattern.into_iter().for_each(drop);
                0
            }
            (1, 1) => lcs_one_word(pattern.into_iter().map(|y| index.one_word_mask::<1>(y))),
            (1, probes) if probes <= FIXED_PROBES => lcs_one_word(
                pattern
                    .into_iter()
                    .map(|y| index.one_word_mask::<FIXED_PROBES>(y)),
            ),
            (words, _) => {
                self.bits.clear();
                self.bits.resize(words, u64::MAX);
                for y in pattern {
                    if let Some(masks) = index.masks_of(y) {
                        hyyro_step(&mut self.bits, masks);
                    }
                }
                self.bits.iter().map(|w| (!w).count_ones() as usize).sum()
            }
        }
    }

    /// `matching_blocks(pattern, state)` (§4.4), written to `out` (cleared first).
    pub fn matching_blocks(&mut self, pattern: &[T], out: &mut Vec<Block>) {
        let (index, search) = (&self.index, &mut self.search);
        let state_len = index.state.len();
        search.reset(pattern.len(), state_len);
        // Row `i` of the equality matrix is the mask of `pattern[i]` (word-major storage).
        match (index.words, index.probes) {
            (0, _) => {}
            (1, 1) => {
                for (row, &y) in search.eq.iter_mut().zip(pattern) {
                    *row = index.one_word_mask::<1>(y);
                }
            }
            (1, probes) if probes <= FIXED_PROBES => {
                for (row, &y) in search.eq.iter_mut().zip(pattern) {
                    *row = index.one_word_mask::<FIXED_PROBES>(y);
                }
            }
            _ => {
                for (i, &y) in pattern.iter().enumerate() {
                    let Some(masks) = index.masks_of(y) else {
                        continue;
                    };
                    for (word, &mask) in masks.iter().enumerate() {
                        if let Some(row) = search.eq.get_mut(word * pattern.len() + i) {
                            *row = mask;
                        }
                    }
                }
            }
        }
        split_into_blocks(search, &mut self.windows, pattern.len(), state_len, out);
    }

    /// `uncovered(present, state)` (§4.4 flat missing/extras), written to `missing` (indices of
    /// `present`) and `extras` (indices of the state), both cleared first.
    pub fn uncovered(&mut self, present: &[T], missing: &mut Vec<usize>, extras: &mut Vec<usize>) {
        let mut blocks = std::mem::take(&mut self.blocks);
        self.matching_blocks(present, &mut blocks);
        uncovered_by(
            &blocks,
            present.len(),
            self.index.state.len(),
            missing,
            extras,
        );
        self.blocks = blocks;
    }
}

/// Hyyrö's bit-parallel LCS against a state of at most 64 tokens, given each pattern token's
/// match mask over the state.
#[inline(always)]
fn lcs_one_word(masks: impl Iterator<Item = u64>) -> usize {
    let mut s = u64::MAX;
    for mask in masks {
        let u = s & mask;
        // `u` is a subset of `s`, so `s - u == s ^ u` (no borrow).
        s = s.wrapping_add(u) | (s ^ u);
    }
    (!s).count_ones() as usize
}

/// Probes of the branch-free lookup used when a key does not sit in its home slot.
const FIXED_PROBES: usize = 4;

/// The state tokens and, for each distinct one, the bit mask of its positions, in a hash table.
#[derive(Debug, Clone)]
struct StateIndex<T> {
    state: Vec<T>,
    /// Words per bit mask: `ceil(state.len() / 64)`.
    words: usize,
    /// Linear probing without wrap-around: a token's home slot is the top bits of its hash
    /// (`>> shift`), and it sits at most `probes - 1` slots further. An empty slot has key
    /// `state[0]` (any value would do), entry 0 and a zero mask.
    slot_keys: Vec<T>,
    /// 0 = empty, else index + 1 of the distinct key (its row of `masks`).
    slot_entries: Vec<u32>,
    /// One-word states: `slot_masks[slot + 1]` is the mask of the key in `slot`, and
    /// `slot_masks[0]` is a zero mask that a missed lookup reads instead of branching.
    slot_masks: Vec<u64>,
    /// Multi-word states: `masks[k * words..(k + 1) * words]` marks where key `k` occurs.
    masks: Vec<u64>,
    shift: u32,
    probes: usize,
}

impl<T: Copy + Eq + Hash> Default for StateIndex<T> {
    fn default() -> Self {
        Self {
            state: Vec::new(),
            words: 0,
            slot_keys: Vec::new(),
            slot_entries: Vec::new(),
            slot_masks: Vec::new(),
            masks: Vec::new(),
            shift: 63,
            probes: 0,
        }
    }
}

impl<T: Copy + Eq + Hash> StateIndex<T> {
    fn reset<I: IntoIterator<Item = T>>(&mut self, state: I) {
        self.state.clear();
        self.state.extend(state);
        let len = self.state.len();
        self.words = len.div_ceil(64);
        let Some(&filler) = self.state.first() else {
            return; // `words == 0`: every answer is "no match", the table is never read
        };
        let mut home_slots = (2 * len).next_power_of_two().max(8);
        // One-word states get a table roomy enough (a few KiB at most) for every key to sit in
        // its home slot if luck allows, else within FIXED_PROBES of it; long states keep the
        // half-full table and probe with branches.
        let roomy = (16 * len).next_power_of_two();
        loop {
            let farthest = self.build_table(filler, home_slots);
            if farthest == 0 || self.words > 1 || home_slots >= roomy {
                self.probes = farthest + 1;
                return;
            }
            home_slots *= 2;
        }
    }

    /// Fills the table with `home_slots` home positions; returns the largest displacement.
    fn build_table(&mut self, filler: T, home_slots: usize) -> usize {
        // Without wrap-around a key lands at most `len - 1` slots past its home.
        let capacity = home_slots + self.state.len().max(FIXED_PROBES);
        self.shift = 64 - home_slots.trailing_zeros();
        self.slot_keys.clear();
        self.slot_keys.resize(capacity, filler);
        self.slot_entries.clear();
        self.slot_entries.resize(capacity, 0);
        self.slot_masks.clear();
        self.masks.clear();
        if self.words == 1 {
            self.slot_masks.resize(capacity + 1, 0);
        }
        let mut distinct = 0u32;
        let mut farthest = 0;
        for (position, &token) in self.state.iter().enumerate() {
            let home = self.home(token);
            let mut slot = home;
            while self.slot_entries[slot] != 0 && self.slot_keys[slot] != token {
                slot += 1;
            }
            if self.slot_entries[slot] == 0 {
                // `distinct <= len`, and a state too long for u32 would not fit in memory.
                distinct = distinct.saturating_add(1);
                self.slot_keys[slot] = token;
                self.slot_entries[slot] = distinct;
                self.masks.resize(self.masks.len() + self.words, 0);
                farthest = farthest.max(slot - home);
            }
            let bit = 1u64 << (position % 64);
            if self.words == 1 {
                self.slot_masks[slot + 1] |= bit;
            } else {
                let key = self.slot_entries[slot] as usize - 1;
                self.masks[key * self.words + position / 64] |= bit;
            }
        }
        farthest
    }

    #[inline(always)]
    fn home(&self, token: T) -> usize {
        (symbol_hash(&token) >> self.shift) as usize
    }

    /// Branch-free mask of `token` in a one-word table whose keys all sit within `PROBES` slots
    /// of home. (A branch here mispredicts on every other token when half the pattern tokens
    /// occur in the state, hence the index arithmetic.)
    #[inline(always)]
    fn one_word_mask<const PROBES: usize>(&self, token: T) -> u64 {
        let home = self.home(token);
        if PROBES == 1 {
            let hit = usize::from(self.slot_keys.get(home) == Some(&token));
            return self.slot_masks.get(hit * (home + 1)).copied().unwrap_or(0);
        }
        let (Some(keys), Some(masks)) = (
            self.slot_keys.get(home..home + PROBES),
            self.slot_masks.get(home + 1..home + 1 + PROBES),
        ) else {
            return 0;
        };
        // Empty slots and other keys contribute a zero mask.
        let mut mask = 0;
        for (key, &slot_mask) in keys.iter().zip(masks) {
            mask |= slot_mask * u64::from(*key == token);
        }
        mask
    }

    /// The mask words of `token`, if it occurs in the state.
    fn masks_of(&self, token: T) -> Option<&[u64]> {
        // Linear probing without deletions: a key never sits past an empty slot from its home.
        let mut slot = self.home(token);
        loop {
            let entry = *self.slot_entries.get(slot)? as usize;
            let key = entry.checked_sub(1)?;
            if self.slot_keys.get(slot) == Some(&token) {
                return if self.words == 1 {
                    self.slot_masks.get(slot + 1..slot + 2)
                } else {
                    self.masks.get(key * self.words..(key + 1) * self.words)
                };
            }
            slot += 1;
        }
    }
}

/// Character-mode similarity (§4.3) of many patterns against one state: the joined state's code
/// points are indexed once, each pattern's joined code points are streamed through, and no
/// `String` is built.
#[derive(Debug, Clone, Default)]
pub struct CharStateMatcher {
    chars: StateMatcher<char>,
}

impl CharStateMatcher {
    pub fn new<S: AsRef<str>>(state_tokens: &[S]) -> Self {
        let mut matcher = Self::default();
        matcher.reset(state_tokens);
        matcher
    }

    /// Indexes a new state, reusing the buffers.
    pub fn reset<S: AsRef<str>>(&mut self, state_tokens: &[S]) {
        self.chars.reset_iter(joined_chars(state_tokens));
    }

    /// `char_similarity(pattern_tokens, state_tokens)`, bit for bit.
    pub fn similarity<S: AsRef<str>>(&mut self, pattern_tokens: &[S]) -> f64 {
        let mut pattern_len = 0;
        let lcs = self
            .chars
            .lcs_len_iter(joined_chars(pattern_tokens).inspect(|_| pattern_len += 1));
        indel_ratio(lcs, pattern_len + self.chars.state().len()) / 100.0
    }
}

/// Python difflib `SequenceMatcher(None, a, b, autojunk=False).find_longest_match(alo, ahi, blo,
/// bhi)` (ALGORITHM.md §4.4): the longest block inside the window, ties broken by the smallest `a`
/// start then the smallest `b` start; `(alo, blo, 0)` when nothing matches. Out-of-range bounds
/// are clamped to the inputs.
pub fn find_longest_match<T: Copy + Eq>(
    a: &[T],
    b: &[T],
    alo: usize,
    ahi: usize,
    blo: usize,
    bhi: usize,
) -> Block {
    Scratch::new().find_longest_match(a, b, alo, ahi, blo, bhi)
}

/// Python difflib `get_matching_blocks()` without the final `(len(a), len(b), 0)` sentinel
/// (ALGORITHM.md §4.4): recursive split around the longest block, sorted, adjacent blocks merged.
pub fn matching_blocks<T: Copy + Eq>(a: &[T], b: &[T]) -> Vec<Block> {
    let mut out = Vec::new();
    Scratch::new().matching_blocks(a, b, &mut out);
    out
}

/// Length of a longest common subsequence of `a` and `b` (RapidFuzz `LCSseq.similarity`), the
/// `M_lcs` of ALGORITHM.md §4.3. Not the difflib block total (QUIRK-16).
pub fn lcs_len<T: Copy + Eq>(a: &[T], b: &[T]) -> usize {
    Scratch::new().lcs_len(a, b)
}

/// Token-mode similarity of the full path (ALGORITHM.md §4.3): `2·lcs/(la+lb)` passed through
/// RapidFuzz's 0–100 scale and back, which changes the last bit (4/6 → `0.6666666666666665`).
/// `0.0` when both sequences are empty, as upstream's scorer answers (`… if total > 0 else 0.0`),
/// not RapidFuzz's `fuzz.ratio([], []) == 100`; unreachable in practice (patterns have ≥ 2
/// symbols).
pub fn token_similarity(lcs: usize, la: usize, lb: usize) -> f64 {
    let total = la + lb;
    if total == 0 {
        return 0.0;
    }
    ((2.0 * lcs as f64 / total as f64) * 100.0) / 100.0
}

/// `2·lcs/(la+lb)` without the round trip: the single-symbol fast path (ALGORITHM.md §4.9) and
/// the direct extractor calls of §7.18. `0.0` when both sequences are empty.
pub fn lcs_ratio(lcs: usize, la: usize, lb: usize) -> f64 {
    let total = la + lb;
    if total == 0 {
        return 0.0;
    }
    2.0 * lcs as f64 / total as f64
}

/// RapidFuzz `fuzz.ratio(a, b)` (0–100) over Unicode code points, bit for bit:
/// `100.0` if both are empty, else `(1 − (L − 2·lcs)/L)·100` with `L = len(a) + len(b)`.
pub fn fuzz_ratio(a: &str, b: &str) -> f64 {
    Scratch::new().fuzz_ratio(a, b)
}

/// Character-mode similarity (ALGORITHM.md §4.3): `fuzz.ratio(" ".join(a), " ".join(b)) / 100`.
pub fn char_similarity<A: AsRef<str>, B: AsRef<str>>(a_tokens: &[A], b_tokens: &[B]) -> f64 {
    Scratch::new().char_similarity(a_tokens, b_tokens)
}

/// Indices of `a` and of `b` not covered by any of `matching_blocks(a, b)`, ascending: the flat
/// missing (of `a` = present_flat) and extras (of `b` = state) of ALGORITHM.md §4.4, which are what
/// difflib's `compare()` marks `- ` and `+ `.
pub fn uncovered<T: Copy + Eq>(a: &[T], b: &[T]) -> (Vec<usize>, Vec<usize>) {
    let (mut missing, mut extras) = (Vec::new(), Vec::new());
    Scratch::new().uncovered(a, b, &mut missing, &mut extras);
    (missing, extras)
}

/// Fuzzy token mode (ALGORITHM.md §4.4): the index of the pattern token with the highest
/// `fuzz_ratio(token, p)` (first occurrence on ties) and that score (0–100), if it is
/// `≥ min_score` (`fuzzy_token_threshold · 100`). A score of 0 never matches, as upstream.
///
/// Upstream compares `ratio / 100 >= threshold`; `ratio >= threshold · 100` agrees except in
/// rare last-bit cases (one among all thresholds k/1000 and tokens up to 300 code points:
/// 0.952 with 250 code points).
pub fn best_fuzzy_match<S: AsRef<str>>(
    token: &str,
    pattern: &[S],
    min_score: f64,
) -> Option<(usize, f64)> {
    Scratch::new().best_fuzzy_match(token, pattern, min_score)
}

/// RapidFuzz's Indel normalised similarity scaled to 0–100, in its operation order.
fn indel_ratio(lcs: usize, total: usize) -> f64 {
    if total == 0 {
        return 100.0;
    }
    let distance = total.saturating_sub(2 * lcs);
    (1.0 - distance as f64 / total as f64) * 100.0
}

/// The code points of `" ".join(tokens)`.
fn joined_chars<S: AsRef<str>>(tokens: &[S]) -> impl Iterator<Item = char> + '_ {
    tokens.iter().enumerate().flat_map(|(i, token)| {
        (i > 0)
            .then_some(' ')
            .into_iter()
            .chain(token.as_ref().chars())
    })
}

/// Writes the indices of `0..la` and `0..lb` outside `blocks` (sorted, disjoint).
fn uncovered_by(
    blocks: &[Block],
    la: usize,
    lb: usize,
    missing: &mut Vec<usize>,
    extras: &mut Vec<usize>,
) {
    missing.clear();
    extras.clear();
    let (mut next_a, mut next_b) = (0, 0);
    for m in blocks {
        missing.extend(next_a..m.a);
        extras.extend(next_b..m.b);
        next_a = m.a + m.size;
        next_b = m.b + m.size;
    }
    missing.extend(next_a..la);
    extras.extend(next_b..lb);
}

/// The half-open search window `a[alo..ahi]` × `b[blo..bhi]` of one `find_longest_match` call.
#[derive(Debug, Clone, Copy)]
struct Window {
    alo: usize,
    ahi: usize,
    blo: usize,
    bhi: usize,
}

impl Window {
    fn whole(la: usize, lb: usize) -> Self {
        Self {
            alo: 0,
            ahi: la,
            blo: 0,
            bhi: lb,
        }
    }
}

/// difflib's `get_matching_blocks` over a prepared `search` (ALGORITHM.md §4.4): split around the
/// longest block, left part only if `alo < i and blo < j`, right part only if `i+k < ahi and
/// j+k < bhi`; sort; merge adjacent blocks. difflib keeps a queue; the sort makes the order moot.
fn split_into_blocks(
    search: &mut BlockSearch,
    windows: &mut Vec<Window>,
    la: usize,
    lb: usize,
    out: &mut Vec<Block>,
) {
    out.clear();
    windows.clear();
    windows.push(Window::whole(la, lb));
    while let Some(w) = windows.pop() {
        let m = search.longest(w);
        if m.size == 0 {
            continue;
        }
        out.push(m);
        if w.alo < m.a && w.blo < m.b {
            windows.push(Window {
                alo: w.alo,
                ahi: m.a,
                blo: w.blo,
                bhi: m.b,
            });
        }
        if m.a + m.size < w.ahi && m.b + m.size < w.bhi {
            windows.push(Window {
                alo: m.a + m.size,
                ahi: w.ahi,
                blo: m.b + m.size,
                bhi: w.bhi,
            });
        }
    }
    // Blocks never overlap, so their `a` starts are distinct and an unstable sort is exact.
    out.sort_unstable_by_key(|m| (m.a, m.b, m.size));
    merge_adjacent(out);
}

/// difflib's final pass: collapse blocks that continue each other (`a1+k1 == a2 and b1+k1 == b2`).
fn merge_adjacent(blocks: &mut Vec<Block>) {
    let mut kept: usize = 0;
    for idx in 0..blocks.len() {
        let next = blocks[idx];
        if let Some(last) = kept.checked_sub(1).and_then(|k| blocks.get_mut(k)) {
            if last.a + last.size == next.a && last.b + last.size == next.b {
                last.size += next.size;
                continue;
            }
        }
        blocks[kept] = next;
        kept += 1;
    }
    blocks.truncate(kept);
}

/// The equality matrix of one `(a, b)` pair as bit rows, and the run bookkeeping of
/// [`BlockSearch::longest`]. Built once per `matching_blocks` call and shared by all its windows,
/// so a window costs one pass over its rows' words plus one step per equal pair in it.
#[derive(Debug, Clone)]
struct BlockSearch {
    /// Word-major: bit `j % 64` of `eq[(j / 64) * la + i]` is set iff `a[i] == b[j]`.
    eq: Vec<u64>,
    la: usize,
    /// `runs[j]`: the common run ending at column `j` of the row with that stamp.
    runs: Vec<Run>,
    /// Last stamp handed out; stamps only grow, so runs never leak between windows or calls.
    stamp: u64,
    /// Run lengths by column of [`BlockSearch::longest_in_word`].
    word_runs: [usize; 64],
}

impl Default for BlockSearch {
    fn default() -> Self {
        Self {
            eq: Vec::new(),
            la: 0,
            runs: Vec::new(),
            stamp: 0,
            word_runs: [0; 64],
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Run {
    stamp: u64,
    len: usize,
}

impl BlockSearch {
    /// Builds the matrix by comparing every pair; the inner loop runs over `a` with a fixed
    /// shift, which the compiler vectorises.
    fn prepare_by_compare<T: Copy + Eq>(&mut self, a: &[T], b: &[T]) {
        self.reset(a.len(), b.len());
        for (word_rows, b_chunk) in self.eq.chunks_mut(a.len().max(1)).zip(b.chunks(64)) {
            for (bit, &x) in b_chunk.iter().enumerate() {
                for (row, &y) in word_rows.iter_mut().zip(a) {
                    *row |= u64::from(x == y) << bit;
                }
            }
        }
    }

    /// Sizes the matrix for `la × lb`, all clear.
    fn reset(&mut self, la: usize, lb: usize) {
        self.la = la;
        self.eq.clear();
        self.eq.resize(la * lb.div_ceil(64), 0);
        if self.runs.len() < lb {
            self.runs.resize(lb, Run::default());
        }
    }

    /// difflib's `find_longest_match` inside `w` (within the prepared matrix), or size 0 at
    /// `(alo, blo)`. Rows ascending; in a row the longest run with the smallest column (columns
    /// go descending, so a tie replaces); the overall best replaced only by a strictly longer
    /// run: difflib's tie-breaking (smallest `i`, then smallest `j`).
    fn longest(&mut self, w: Window) -> Block {
        let mut best = Block {
            a: w.alo,
            b: w.blo,
            size: 0,
        };
        if w.alo >= w.ahi || w.blo >= w.bhi {
            return best;
        }
        let (first_word, last_word) = (w.blo / 64, (w.bhi - 1) / 64);
        let (first_mask, last_mask) = (
            window_mask(first_word, w.blo, w.bhi),
            window_mask(last_word, w.blo, w.bhi),
        );
        if first_word == last_word {
            return self.longest_in_word(w, first_word, first_mask & last_mask);
        }
        // A stamp no column holds: no run continues into the window's first row.
        self.stamp += 1;
        for i in w.alo..w.ahi {
            self.stamp += 1;
            let (row_stamp, prev_stamp) = (self.stamp, self.stamp - 1);
            let (mut row_size, mut row_end) = (0, 0);
            for word in (first_word..=last_word).rev() {
                let mut bits = self.eq.get(word * self.la + i).copied().unwrap_or(0);
                if word == first_word {
                    bits &= first_mask;
                }
                if word == last_word {
                    bits &= last_mask;
                }
                while bits != 0 {
                    let bit = 63 - bits.leading_zeros() as usize;
                    bits ^= 1 << bit;
                    let j = word * 64 + bit;
                    let size = match j.checked_sub(1).and_then(|left| self.runs.get(left)) {
                        Some(left) if left.stamp == prev_stamp => left.len + 1,
                        _ => 1,
                    };
                    if let Some(run) = self.runs.get_mut(j) {
                        *run = Run {
                            stamp: row_stamp,
                            len: size,
                        };
                    }
                    if size >= row_size {
                        (row_size, row_end) = (size, j);
                    }
                }
            }
            if row_size > best.size {
                best = Block {
                    a: i + 1 - row_size,
                    b: row_end + 1 - row_size,
                    size: row_size,
                };
            }
        }
        best
    }
}

impl BlockSearch {
    /// [`BlockSearch::longest`] for a window whose columns all lie in word `word`: the runs that
    /// continue from the previous row are `bits & (prev_bits << 1)`, and only their lengths need
    /// remembering, per column of the word.
    fn longest_in_word(&mut self, w: Window, word: usize, mask: u64) -> Block {
        let mut best = Block {
            a: w.alo,
            b: w.blo,
            size: 0,
        };
        let base = word * self.la;
        let Some(rows) = self.eq.get(base + w.alo..base + w.ahi) else {
            return best;
        };
        let mut prev_bits = 0u64;
        for (offset, &row) in rows.iter().enumerate() {
            let bits = row & mask;
            let continued = bits & (prev_bits << 1);
            prev_bits = bits;
            let (mut row_size, mut row_end) = (0, 0);
            let mut rest = bits;
            while rest != 0 {
                // Columns descending: `word_runs[bit - 1]` still holds the previous row's run.
                let bit = 63 - rest.leading_zeros() as usize;
                rest ^= 1 << bit;
                let size = if continued & (1 << bit) != 0 {
                    self.word_runs[bit.wrapping_sub(1) & 63] + 1
                } else {
                    1
                };
                self.word_runs[bit] = size;
                if size >= row_size {
                    (row_size, row_end) = (size, bit);
                }
            }
            if row_size > best.size {
                best = Block {
                    a: w.alo + offset + 1 - row_size,
                    b: word * 64 + row_end + 1 - row_size,
                    size: row_size,
                };
            }
        }
        best
    }
}

/// The bits of word `word` (columns `64·word..64·word + 64`) that lie in `blo..bhi`.
fn window_mask(word: usize, blo: usize, bhi: usize) -> u64 {
    let base = word * 64;
    let lo = blo.saturating_sub(base).min(64) as u32;
    let hi = bhi.saturating_sub(base).min(64) as u32;
    let from_lo = u64::MAX.checked_shl(lo).unwrap_or(0);
    let below_hi = u64::MAX.checked_shr(64 - hi).unwrap_or(0);
    from_lo & below_hi
}

/// Buffers of the compare-based LCS.
#[derive(Debug, Default, Clone)]
struct LcsBuffers {
    /// Word-major match masks: bit `k` of `masks[w * long.len() + j]` is set iff
    /// `short[64·w + k] == long[j]`.
    masks: Vec<u64>,
    /// Hyyrö's bit vector.
    bits: Vec<u64>,
}

impl LcsBuffers {
    /// LCS length. The common prefix and suffix belong to some LCS, so they are counted and cut
    /// off; the rest runs Hyyrö's bit-parallel algorithm (as RapidFuzz does) with the shorter
    /// side as the bit vector.
    fn lcs_len<T: Copy + Eq>(&mut self, a: &[T], b: &[T]) -> usize {
        let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let (a, b) = (&a[prefix..], &b[prefix..]);
        let suffix = a
            .iter()
            .rev()
            .zip(b.iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
        let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        if short.is_empty() {
            return prefix + suffix;
        }
        if short.len() <= 64 && long.len() <= 32 {
            // Tiny inputs: build each mask on the fly, no buffer to size.
            let masks = long.iter().map(|&y| {
                short
                    .iter()
                    .enumerate()
                    .fold(0u64, |mask, (bit, &x)| mask | (u64::from(x == y) << bit))
            });
            return prefix + lcs_one_word(masks) + suffix;
        }
        let words = short.len().div_ceil(64);
        self.masks.clear();
        self.masks.resize(words * long.len(), 0);
        for (word_masks, chunk) in self.masks.chunks_mut(long.len()).zip(short.chunks(64)) {
            for (bit, &x) in chunk.iter().enumerate() {
                for (mask, &y) in word_masks.iter_mut().zip(long) {
                    *mask |= u64::from(x == y) << bit;
                }
            }
        }
        let middle = if words == 1 {
            lcs_one_word(self.masks.iter().copied())
        } else {
            self.bits.clear();
            self.bits.resize(words, u64::MAX);
            for j in 0..long.len() {
                hyyro_step_strided(&mut self.bits, &self.masks, j, long.len());
            }
            self.bits.iter().map(|w| (!w).count_ones() as usize).sum()
        };
        prefix + middle + suffix
    }
}

/// One step of Hyyrö's multi-word LCS: `S = (S + (S & M)) | (S - (S & M))`, the addition carried
/// across words. Bits above the shorter side's length never see a match and stay 1 (the OR with
/// `s ^ u` restores them after any carry), so they count nothing.
#[inline]
fn hyyro_step(bits: &mut [u64], masks: &[u64]) {
    let mut carry = false;
    for (word, &mask) in bits.iter_mut().zip(masks) {
        let s = *word;
        let u = s & mask;
        let (sum, c1) = s.overflowing_add(u);
        let (sum, c2) = sum.overflowing_add(u64::from(carry));
        carry = c1 || c2;
        // `u` is a subset of `s`, so `s - u == s ^ u` (no borrow).
        *word = sum | (s ^ u);
    }
}

/// [`hyyro_step`] with the masks of column `j` read from word-major storage.
#[inline]
fn hyyro_step_strided(bits: &mut [u64], masks: &[u64], j: usize, stride: usize) {
    let mut carry = false;
    for (w, word) in bits.iter_mut().enumerate() {
        let mask = masks.get(w * stride + j).copied().unwrap_or(0);
        if mask == 0 && !carry {
            continue; // u == 0 and no carry in: the word is unchanged
        }
        let s = *word;
        let u = s & mask;
        let (sum, c1) = s.overflowing_add(u);
        let (sum, c2) = sum.overflowing_add(u64::from(carry));
        carry = c1 || c2;
        *word = sum | (s ^ u);
    }
}

/// FxHash-style hash of a token: one multiply per word, enough for a table indexed by top bits.
fn symbol_hash<T: Hash>(token: &T) -> u64 {
    let mut hasher = SymbolHasher(0);
    token.hash(&mut hasher);
    hasher.finish()
}

struct SymbolHasher(u64);

impl SymbolHasher {
    #[inline(always)]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for SymbolHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 59));
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    fn block(a: usize, b: usize, size: usize) -> Block {
        Block { a, b, size }
    }

    fn f64_from_hex(hex: &str) -> f64 {
        f64::from_bits(u64::from_str_radix(hex, 16).expect("hex f64 in golden file"))
    }

    fn golden_rows(text: &str) -> Vec<serde_json::Value> {
        let doc: serde_json::Value = serde_json::from_str(text).expect("golden file is JSON");
        doc["rows"].as_array().expect("golden rows").clone()
    }

    fn field<'a>(row: &'a serde_json::Value, key: &str) -> &'a str {
        row[key].as_str().expect("string field")
    }

    fn triple(v: &serde_json::Value) -> Block {
        let n = |i: usize| v[i].as_u64().expect("block number") as usize;
        block(n(0), n(1), n(2))
    }

    /// Naive O(la·lb) LCS table, the reference for the bit-parallel paths.
    fn naive_lcs<T: Eq>(a: &[T], b: &[T]) -> usize {
        let mut prev = vec![0usize; b.len() + 1];
        for x in a {
            let mut cur = vec![0usize; b.len() + 1];
            for (j, y) in b.iter().enumerate() {
                cur[j + 1] = if x == y {
                    prev[j] + 1
                } else {
                    cur[j].max(prev[j + 1])
                };
            }
            prev = cur;
        }
        prev[b.len()]
    }

    /// splitmix64: a tiny deterministic PRNG for the randomised cross-checks.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        fn seq(&mut self, max_len: u64, alphabet: u64) -> Vec<u32> {
            let len = self.below(max_len + 1);
            (0..len).map(|_| self.below(alphabet) as u32).collect()
        }
    }

    // ALGORITHM.md QUIRK-16, §7.8, §7.S-S1/S2: (pattern, state, blocks, lcs, token similarity).
    #[test]
    fn spec_alignment_cases() {
        let cases: &[(&str, &str, &[Block], usize, f64)] = &[
            // QUIRK-16: LCS 2 but one difflib block, matches [a].
            ("a b a", "b c a", &[block(0, 2, 1)], 2, 0.6666666666666665),
            // §7.8
            (
                "hello world bar foo",
                "hello foo",
                &[block(0, 0, 1), block(3, 1, 1)],
                2,
                0.6666666666666665,
            ),
            // §7.S S1: straddling event.
            ("a b c", "b c", &[block(1, 0, 2)], 2, 0.8),
            // §7.S S2: the second-event x,y is the longest block.
            ("x x y", "x y", &[block(1, 0, 2)], 2, 0.8),
            // §7.9
            (
                "a b c d",
                "a x c y",
                &[block(0, 0, 1), block(2, 2, 1)],
                2,
                0.5,
            ),
            // §7.20 token mode (6/7).
            (
                "token1 token2 token3 token4",
                "token1 token2 token3",
                &[block(0, 0, 3)],
                3,
                0.8571428571428571,
            ),
        ];
        let mut scratch = Scratch::new();
        let mut out = Vec::new();
        for &(pattern, state, blocks, lcs, similarity) in cases {
            let (a, b) = (toks(pattern), toks(state));
            scratch.matching_blocks(&a, &b, &mut out);
            assert_eq!(out, blocks, "{pattern} / {state}");
            assert_eq!(matching_blocks(&a, &b), blocks, "{pattern} / {state}");
            assert_eq!(lcs_len(&a, &b), lcs, "{pattern} / {state}");
            let got = token_similarity(lcs, a.len(), b.len());
            assert_eq!(
                got.to_bits(),
                similarity.to_bits(),
                "{pattern} / {state}: {got}"
            );
        }
        // QUIRK-16: the state-side symbols of the blocks (`matches`) are just [a].
        let (a, b) = (toks("a b a"), toks("b c a"));
        let matches: Vec<&str> = matching_blocks(&a, &b)
            .iter()
            .flat_map(|m| b[m.b..m.b + m.size].iter().copied())
            .collect();
        assert_eq!(matches, ["a"]);
        // S2: the longest block alone.
        let (a, b) = (toks("x x y"), toks("x y"));
        assert_eq!(find_longest_match(&a, &b, 0, 3, 0, 2), block(1, 0, 2));
    }

    // ALGORITHM.md §7.18: similarities WITHOUT the round trip, plus the flat missing/extras.
    #[test]
    fn spec_affinity_extractor_cases() {
        let cases: &[(&str, &str, f64)] = &[
            ("A NOISE_1 B NOISE_2", "A NOISE_3 B", 0.5714285714285714),
            ("A NOISE_1", "B NOISE_1", 0.5),
            (
                "A NOISE_5 B NOISE_6 NOISE_7 C NOISE_8",
                "A NOISE_1 NOISE_2 NOISE_3 B NOISE_4",
                0.3076923076923077,
            ),
        ];
        for &(pattern, state, similarity) in cases {
            let (a, b) = (toks(pattern), toks(state));
            let got = lcs_ratio(lcs_len(&a, &b), a.len(), b.len());
            assert_eq!(
                got.to_bits(),
                similarity.to_bits(),
                "{pattern} / {state}: {got}"
            );
        }
        // First case: present_flat [A, NOISE_1, B] vs state → missing [NOISE_1], extras [NOISE_3].
        let (present, state) = (toks("A NOISE_1 B"), toks("A NOISE_3 B"));
        assert_eq!(uncovered(&present, &state), (vec![1], vec![1]));
    }

    // ALGORITHM.md §7.20: character-mode similarities.
    #[test]
    fn spec_character_mode_cases() {
        let cases: &[(&[&str], &[&str], f64)] = &[
            (
                &["token1", "token2", "token3", "token4"],
                &["token1", "token2", "token3"],
                0.851063829787234,
            ),
            (
                &["apple", "banana", "cherry"],
                &["apple", "banana"],
                0.7741935483870968,
            ),
        ];
        for &(pattern, state, similarity) in cases {
            let got = char_similarity(pattern, state);
            assert_eq!(
                got.to_bits(),
                similarity.to_bits(),
                "{pattern:?} / {state:?}: {got}"
            );
            let joined = fuzz_ratio(&pattern.join(" "), &state.join(" ")) / 100.0;
            assert_eq!(got.to_bits(), joined.to_bits());
        }
    }

    #[test]
    fn similarity_formulas_edge_values() {
        let cases: &[(usize, usize, usize, f64, f64)] = &[
            // (lcs, la, lb, token_similarity, lcs_ratio)
            (2, 3, 3, 0.6666666666666665, 0.6666666666666666),
            (0, 0, 0, 0.0, 0.0),
            (0, 3, 2, 0.0, 0.0),
            (3, 3, 3, 1.0, 1.0),
            (1, 1, 2, 0.6666666666666665, 0.6666666666666666),
        ];
        for &(lcs, la, lb, token, direct) in cases {
            assert_eq!(
                token_similarity(lcs, la, lb).to_bits(),
                token.to_bits(),
                "{lcs} {la} {lb}"
            );
            assert_eq!(
                lcs_ratio(lcs, la, lb).to_bits(),
                direct.to_bits(),
                "{lcs} {la} {lb}"
            );
        }
        let ratios: &[(&str, &str, f64)] = &[
            ("", "", 100.0),
            ("a", "", 0.0),
            ("", "é", 0.0),
            ("é", "é", 100.0),
            ("ab", "ba", 50.0),
        ];
        for &(a, b, ratio) in ratios {
            assert_eq!(fuzz_ratio(a, b).to_bits(), ratio.to_bits(), "{a:?} / {b:?}");
        }
        let empty: &[&str] = &[];
        assert_eq!(char_similarity(empty, empty), 1.0);
        assert_eq!(char_similarity(&[""], empty), 1.0); // " ".join([""]) == ""
    }

    /// `fuzz_ratio_golden.json`: rapidfuzz `fuzz.ratio` on random str pairs (unicode, empty,
    /// repeated characters, > 64 code points), the f64 as its bit pattern.
    #[test]
    fn fuzz_ratio_matches_rapidfuzz_golden() {
        let rows = golden_rows(include_str!("testdata/fuzz_ratio_golden.json"));
        assert!(rows.len() >= 2000);
        let mut scratch = Scratch::new();
        for row in &rows {
            let (a, b) = (field(row, "a"), field(row, "b"));
            let want = f64_from_hex(field(row, "bits"));
            let got = scratch.fuzz_ratio(a, b);
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{a:?} / {b:?}: {got} != {want}"
            );
            let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            assert_eq!(
                scratch.lcs_len(&ca, &cb) as u64,
                row["lcs"].as_u64().unwrap_or(u64::MAX)
            );
        }
    }

    /// `lcs_golden.json`: token lists (one char = one token) vs `LCSseq.similarity`, and the §4.3
    /// token similarity computed in Python with upstream's expression.
    #[test]
    fn token_lcs_and_similarity_match_golden() {
        let rows = golden_rows(include_str!("testdata/lcs_golden.json"));
        assert!(rows.len() >= 1000);
        let mut scratch = Scratch::new();
        for row in &rows {
            let a: Vec<char> = field(row, "a").chars().collect();
            let b: Vec<char> = field(row, "b").chars().collect();
            let lcs = scratch.lcs_len(&a, &b);
            assert_eq!(lcs as u64, row["lcs"].as_u64().unwrap_or(u64::MAX), "{row}");
            let got = token_similarity(lcs, a.len(), b.len());
            assert_eq!(
                got.to_bits(),
                f64_from_hex(field(row, "bits")).to_bits(),
                "{row}"
            );
        }
    }

    /// `difflib_golden.json`: CPython difflib `SequenceMatcher(None, a, b, autojunk=False)`.
    #[test]
    fn matching_blocks_match_difflib_golden() {
        let rows = golden_rows(include_str!("testdata/difflib_golden.json"));
        assert!(rows.len() >= 1000);
        let mut scratch = Scratch::new();
        let mut out = Vec::new();
        for row in &rows {
            let a: Vec<char> = field(row, "a").chars().collect();
            let b: Vec<char> = field(row, "b").chars().collect();
            let want: Vec<Block> = row["blocks"]
                .as_array()
                .expect("blocks")
                .iter()
                .map(triple)
                .collect();
            scratch.matching_blocks(&a, &b, &mut out);
            assert_eq!(out, want, "{row}");
            let longest = scratch.find_longest_match(&a, &b, 0, a.len(), 0, b.len());
            assert_eq!(longest, triple(&row["longest"]), "{row}");
            let w = &row["window"];
            let n = |i: usize| w[i].as_u64().expect("window bound") as usize;
            let got = scratch.find_longest_match(&a, &b, n(0), n(1), n(2), n(3));
            assert_eq!(got, triple(&w[4]), "{row}");
        }
    }

    #[test]
    fn lcs_fast_paths_agree_with_naive_dp() {
        let mut rng = Rng(0x5EED);
        let mut scratch = Scratch::new();
        for round in 0..3000 {
            let max_len = [0, 1, 5, 20, 64, 65, 130, 300][round % 8];
            let alphabet = [1, 2, 3, 5, 20][(round / 8) % 5];
            let a = rng.seq(max_len, alphabet);
            let mut b = rng.seq(max_len, alphabet);
            if round % 3 == 0 {
                // shared prefix/suffix exercise the trimming
                b = [&a[..a.len() / 3], &b[..], &a[a.len() * 2 / 3..]].concat();
            }
            let want = naive_lcs(&a, &b);
            assert_eq!(scratch.lcs_len(&a, &b), want, "{a:?} / {b:?}");
            assert_eq!(scratch.lcs_len(&b, &a), want, "{b:?} / {a:?}");
        }
    }

    #[test]
    fn matching_blocks_are_consistent_on_random_inputs() {
        let mut rng = Rng(42);
        let mut scratch = Scratch::new();
        let mut out = Vec::new();
        for round in 0..1000 {
            let (a, b) = (rng.seq(60, 1 + round % 4), rng.seq(60, 1 + round % 4));
            scratch.matching_blocks(&a, &b, &mut out);
            let (mut end_a, mut end_b, mut total) = (0, 0, 0);
            for m in &out {
                assert!(m.size > 0 && m.a >= end_a && m.b >= end_b, "{out:?}");
                assert_eq!(a[m.a..m.a + m.size], b[m.b..m.b + m.size]);
                (end_a, end_b, total) = (m.a + m.size, m.b + m.size, total + m.size);
            }
            assert!(total <= scratch.lcs_len(&a, &b));
            let (missing, extras) = uncovered(&a, &b);
            assert_eq!(missing.len() + total, a.len());
            assert_eq!(extras.len() + total, b.len());
        }
    }

    #[test]
    fn no_panic_on_empty_inputs_and_odd_windows() {
        let empty: &[u32] = &[];
        let some: &[u32] = &[1, 2, 3];
        assert!(matching_blocks(empty, empty).is_empty());
        assert!(matching_blocks(some, empty).is_empty());
        assert!(matching_blocks(empty, some).is_empty());
        assert_eq!(lcs_len(empty, some), 0);
        assert_eq!(uncovered(some, empty), (vec![0, 1, 2], vec![]));
        assert_eq!(uncovered(empty, some), (vec![], vec![0, 1, 2]));
        let cases: &[(usize, usize, usize, usize, Block)] = &[
            (0, 3, 0, 3, block(0, 0, 3)),
            (2, 1, 0, 3, block(2, 0, 0)),   // alo > ahi
            (0, 99, 1, 99, block(1, 1, 2)), // ahi/bhi past the end are clamped
            (7, 9, 8, 9, block(7, 8, 0)),   // wholly outside
            (usize::MAX, usize::MAX, 0, 0, block(usize::MAX, 0, 0)),
        ];
        for &(alo, ahi, blo, bhi, want) in cases {
            assert_eq!(
                find_longest_match(some, some, alo, ahi, blo, bhi),
                want,
                "{alo} {ahi} {blo} {bhi}"
            );
        }
    }

    #[test]
    fn uncovered_lists_flat_missing_and_extras() {
        // (present_flat, state, missing indices of present, extras indices of state)
        let cases: &[(&str, &str, &[usize], &[usize])] = &[
            ("a b c d", "a x c y", &[1, 3], &[1, 3]), // §7.9: missing [b, d], extras [x, y]
            ("hello world bar foo", "hello foo", &[1, 2], &[]), // §7.8
            ("a b", "a b", &[], &[]),
            ("a", "b", &[0], &[0]),
        ];
        let mut scratch = Scratch::new();
        let (mut missing, mut extras) = (Vec::new(), Vec::new());
        for &(present, state, want_missing, want_extras) in cases {
            scratch.uncovered(&toks(present), &toks(state), &mut missing, &mut extras);
            assert_eq!(
                (&missing[..], &extras[..]),
                (want_missing, want_extras),
                "{present} / {state}"
            );
        }
    }

    #[test]
    fn best_fuzzy_match_picks_highest_first_and_respects_threshold() {
        // (token, pattern, min_score, expected)
        // (token, pattern, min_score, expected (index, score))
        type Case = (&'static str, &'static str, f64, Option<(usize, f64)>);
        let cases: &[Case] = &[
            ("apple", "banana aple apple", 80.0, Some((2, 100.0))),
            (
                "aple",
                "apple banana apple",
                80.0,
                Some((0, 88.88888888888889)),
            ),
            ("aple", "apple banana apple", 90.0, None),
            ("abcd", "abxd abyd", 50.0, Some((0, 75.0))), // tie: first occurrence
            ("zzz", "abc def", 1.0, None),
            ("zzz", "abc def", 0.0, None), // a score of 0 never matches
            ("x", "", 50.0, None),
        ];
        let mut scratch = Scratch::new();
        for &(token, pattern, min_score, want) in cases {
            let pattern = toks(pattern);
            let got = scratch.best_fuzzy_match(token, &pattern, min_score);
            assert_eq!(got, want, "{token} in {pattern:?} ≥ {min_score}");
            assert_eq!(best_fuzzy_match(token, &pattern, min_score), want);
        }
        // The length bound never prunes the true best: compare with an exhaustive search.
        let mut rng = Rng(9);
        for _ in 0..500 {
            let word = |rng: &mut Rng| -> String {
                (0..rng.below(9))
                    .map(|_| char::from(b'a' + rng.below(4) as u8))
                    .collect()
            };
            let token = word(&mut rng);
            let pattern: Vec<String> = (0..rng.below(8)).map(|_| word(&mut rng)).collect();
            let min_score = rng.below(100) as f64;
            let mut want: Option<(usize, f64)> = None;
            for (i, p) in pattern.iter().enumerate() {
                let s = fuzz_ratio(&token, p);
                if s >= min_score && s > want.map_or(0.0, |(_, b)| b) {
                    want = Some((i, s));
                }
            }
            assert_eq!(
                best_fuzzy_match(&token, &pattern, min_score),
                want,
                "{token} {pattern:?}"
            );
        }
    }

    /// `StateMatcher` answers exactly as the free functions, over every table layout: one-word
    /// states (home-slot and probing lookups), multi-word states, dense and sparse alphabets,
    /// and reuse of one matcher across states.
    #[test]
    fn state_matcher_agrees_with_free_functions() {
        let mut rng = Rng(0xC0FFEE);
        let mut matcher = StateMatcher::default();
        let mut scratch = Scratch::new();
        let (mut out, mut want) = (Vec::new(), Vec::new());
        let (mut missing, mut extras) = (Vec::new(), Vec::new());
        for round in 0..600 {
            let state_len = [0, 1, 2, 10, 40, 64, 65, 130, 200][round % 9];
            let alphabet = [2, 5, 30, 1000, 1 << 31][(round / 9) % 5];
            let state: Vec<u32> = (0..state_len).map(|_| rng.below(alphabet) as u32).collect();
            matcher.reset(&state);
            for _ in 0..5 {
                let pattern = rng.seq(90, alphabet);
                let lcs = scratch.lcs_len(&pattern, &state);
                assert_eq!(matcher.lcs_len(&pattern), lcs, "{pattern:?} / {state:?}");
                let similarity = token_similarity(lcs, pattern.len(), state.len());
                assert_eq!(
                    matcher.token_similarity(&pattern).to_bits(),
                    similarity.to_bits()
                );
                matcher.matching_blocks(&pattern, &mut out);
                scratch.matching_blocks(&pattern, &state, &mut want);
                assert_eq!(out, want, "{pattern:?} / {state:?}");
                matcher.uncovered(&pattern, &mut missing, &mut extras);
                assert_eq!(
                    (missing.clone(), extras.clone()),
                    uncovered(&pattern, &state)
                );
            }
        }
        // String tokens (hashed bytes) and the spec's QUIRK-16 case.
        let mut matcher = StateMatcher::new(&toks("b c a"));
        assert_eq!(matcher.lcs_len(&toks("a b a")), 2);
        matcher.matching_blocks(&toks("a b a"), &mut out);
        assert_eq!(out, [block(0, 2, 1)]);
    }

    #[test]
    fn char_state_matcher_agrees_with_char_similarity() {
        let rows = golden_rows(include_str!("testdata/fuzz_ratio_golden.json"));
        let mut matcher = CharStateMatcher::default();
        for pair in rows.chunks(2) {
            // Split the golden strings into tokens at spaces: joining restores them.
            let state: Vec<&str> = field(&pair[0], "a").split(' ').collect();
            matcher.reset(&state);
            for row in pair {
                let pattern: Vec<&str> = field(row, "b").split(' ').collect();
                let want = char_similarity(&pattern, &state);
                assert_eq!(
                    matcher.similarity(&pattern).to_bits(),
                    want.to_bits(),
                    "{row}"
                );
            }
        }
        let mut matcher = CharStateMatcher::new(&["token1", "token2", "token3"]);
        let got = matcher.similarity(&["token1", "token2", "token3", "token4"]);
        assert_eq!(got.to_bits(), 0.851063829787234f64.to_bits());
    }

    #[test]
    fn scratch_reuse_gives_the_same_answers() {
        let mut rng = Rng(77);
        let mut scratch = Scratch::new();
        let mut out = Vec::new();
        for round in 0..300 {
            let (a, b) = (rng.seq(80, 3), rng.seq(80, 3));
            scratch.matching_blocks(&a, &b, &mut out);
            assert_eq!(out, matching_blocks(&a, &b), "round {round}");
            assert_eq!(scratch.lcs_len(&a, &b), lcs_len(&a, &b), "round {round}");
        }
    }
}
