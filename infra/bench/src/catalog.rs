//! The search benchmark's synthetic catalog: deterministic (a fixed-seed generator over word lists), so
//! every run, and every engine compared on it, sees the same products and queries.
//!
//! Titles of three or four words (adjective, colour, sometimes a material, a noun), one to four variants
//! with SKUs like `SKU-000123-2`, twenty vendors, fifteen product types, three stores; 85 % active, 7 %
//! draft, 5 % archived, 3 % removed; 85 % in stock; stock tracked for 70 %; prices from 5.00 to 500.00.

use pivota::ports::ProductDoc;

pub const ADJECTIVES: &str = "classic modern vintage rustic elegant compact deluxe premium handmade organic slim \
    heavy light soft sturdy portable foldable waterproof cozy bold minimal royal urban coastal";
pub const COLOURS: &str = "black white navy crimson olive ivory charcoal teal amber silver golden coral indigo sage";
pub const MATERIALS: &str =
    "cotton linen leather wool bamboo ceramic walnut oak steel copper glass marble velvet denim canvas silk";
pub const NOUNS: &str = "shirt jacket wallet backpack lamp chair table mug teapot vase blanket pillow scarf sweater \
    sneakers boots watch bracelet necklace candle planter bottle notebook pen desk shelf rug curtain towel apron \
    basket tray bowl plate knife skillet kettle headphones speaker charger";
const VENDORS: &str = "Acme Northwind Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Tyrell Cyberdyne \
    Soylent Aperture Oscorp Gringotts Monarch Hendricks Dunder Sterling";
const PRODUCT_TYPES: &str = "Apparel Footwear Accessories Home Kitchen Decor Furniture Lighting Stationery \
    Electronics Jewelry Bath Garden Outdoor Gifts";
const VARIANT_NAMES: [&str; 6] = ["Small", "Medium", "Large", "XL", "Twin pack", "Gift box"];
pub const STORES: [&str; 3] = ["sto_one", "sto_two", "sto_three"];

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A word of a space-separated list.
    pub fn word<'a>(&mut self, list: &'a str) -> &'a str {
        let words: Vec<&str> = list.split_whitespace().collect();
        words[self.below(words.len())]
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// `count` products with ids `prd_<n>` from `first_id` on; the same seed gives the same products.
pub fn products(seed: u64, count: usize, first_id: usize) -> Vec<ProductDoc> {
    let mut rng = Rng(seed);
    (first_id..first_id + count).map(|n| product(&mut rng, n)).collect()
}

fn product(rng: &mut Rng, n: usize) -> ProductDoc {
    let mut title = vec![rng.word(ADJECTIVES), rng.word(COLOURS), rng.word(NOUNS)];
    if rng.chance(50) {
        title.insert(2, rng.word(MATERIALS));
    }
    let variants = 1 + rng.below(4);
    let status = match rng.below(100) {
        0..85 => "active",
        85..92 => "draft",
        92..97 => "archived",
        _ => "removed",
    };
    ProductDoc {
        product_id: format!("prd_{n:08}"),
        store_id: rng.pick(&STORES).into(),
        title: capitalised(&title.join(" ")),
        variant_titles: (0..variants).map(|_| rng.pick(&VARIANT_NAMES).into()).collect(),
        skus: (1..=variants).map(|v| format!("SKU-{n:06}-{v}")).collect(),
        vendor: rng.chance(90).then(|| rng.word(VENDORS).into()),
        product_type: rng.chance(80).then(|| rng.word(PRODUCT_TYPES).into()),
        status: status.into(),
        in_stock: rng.chance(85),
        min_stock: rng.chance(70).then(|| rng.below(100) as i64),
        prices: (0..variants).map(|_| 500 + rng.below(49_501) as i64).collect(),
        updated_at: 1_700_000_000 + rng.below(365 * 86_400) as i64,
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The word with one edit: a letter (not the first) dropped or doubled, or two neighbours swapped.
pub fn misspelt(rng: &mut Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let at = 1 + rng.below(chars.len() - 2);
    match rng.below(3) {
        0 => drop(chars.remove(at)),
        1 => chars.insert(at, chars[at]),
        _ => chars.swap(at, at + 1),
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_catalog() {
        assert_eq!(products(42, 50, 0), products(42, 50, 0));
        assert_ne!(products(42, 50, 0), products(43, 50, 0));
        assert_eq!(products(42, 3, 120)[0].skus[0], "SKU-000120-1");
    }

    #[test]
    fn a_misspelling_is_one_edit_away() {
        let mut rng = Rng(1);
        for _ in 0..100 {
            let typo = misspelt(&mut rng, "blanket");
            assert_ne!(typo, "blanket");
            assert!(typo.len().abs_diff(7) <= 1, "{typo}");
        }
    }
}
