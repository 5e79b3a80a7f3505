//! Names for agents and simulated supervisors, and masked customer numbers.
//!
//! Everything is drawn from the world's seeded generator, so one seed always
//! staffs the floor with the same people.

use rand::Rng;
use rand::seq::SliceRandom;

const FIRST: &[&str] = &[
    "Alex", "Priya", "Sam", "Maya", "Jonas", "Aisha", "Mateo", "Chloe", "Kenji", "Fatima", "Liam",
    "Sofia", "Omar", "Hannah", "Diego", "Nadia", "Ethan", "Leila", "Tomas", "Grace", "Ravi",
    "Elena", "Kwame", "Zoe", "Yusuf", "Ingrid", "Marcus", "Anya", "Luca", "Imani", "Noah", "Mei",
    "Arjun", "Clara", "Tariq", "Freya", "Hugo", "Amara", "Felix", "Rosa", "Malik", "Sakura",
    "Oscar", "Lucia", "Emeka", "Nora", "Pavel", "Ines", "Jamal", "Lena", "Carlos", "Hana", "Theo",
    "Yara", "Andre", "Keiko", "Bruno", "Dalia", "Ivan", "Thandi", "Rafael", "Aiko", "Samir",
    "Olga", "Kofi", "Marta", "Jin", "Beatriz", "Tobias", "Layla", "Sean", "Ananya", "Viktor",
    "Esme", "Kai", "Paloma", "Dmitri", "Adaeze", "Niall", "Camila", "Hiro", "Sinead", "Mohammed",
    "Julia", "Andile", "Wen", "Erik", "Lupita", "Bilal", "Astrid", "Jasper", "Noor", "Ruben",
    "Chiara", "Kaveh", "Tessa", "Minh", "Daniela",
];

const LAST: &[&str] = &[
    "Kim",
    "Nair",
    "Lee",
    "Okafor",
    "Schmidt",
    "Haddad",
    "Garcia",
    "Dubois",
    "Tanaka",
    "Rahman",
    "Murphy",
    "Rossi",
    "Farouk",
    "Becker",
    "Hernandez",
    "Petrova",
    "Walsh",
    "Karimi",
    "Novak",
    "Mensah",
    "Patel",
    "Costa",
    "Asante",
    "Fischer",
    "Demir",
    "Larsen",
    "Bennett",
    "Volkova",
    "Moretti",
    "Abara",
    "Nguyen",
    "Chen",
    "Iyer",
    "Moreau",
    "Siddiqui",
    "Lindqvist",
    "Laurent",
    "Adeyemi",
    "Weber",
    "Santos",
    "Mahmoud",
    "Sato",
    "Brooks",
    "Alvarez",
    "Eze",
    "Byrne",
    "Kowalski",
    "Ferreira",
    "Jackson",
    "Hoffmann",
    "Ortega",
    "Park",
    "Silva",
    "Horvat",
    "Popescu",
    "Dlamini",
    "Castillo",
    "Yamamoto",
    "Aziz",
    "Sokolov",
    "Mwangi",
    "Romero",
    "Wong",
    "Torres",
    "Osei",
    "Reyes",
    "Jensen",
    "Bakker",
    "Ali",
    "Kuznetsov",
    "Gallagher",
    "Suzuki",
    "Mendes",
    "Ibrahim",
    "Okoro",
    "Nilsson",
    "Vargas",
    "Huang",
    "Kaur",
    "Fontaine",
    "Agarwal",
    "Oyelaran",
    "Baptiste",
    "Quinn",
    "Lopez",
    "Cohen",
    "Hughes",
    "Andersson",
    "Tran",
    "Molina",
    "Banerjee",
    "Kovacs",
    "Achterberg",
    "Nakamura",
    "Diallo",
    "Esposito",
    "Sandoval",
    "Mbeki",
    "Richter",
    "Ward",
];

/// `count` distinct full names while the pools last (10,000 of them), then
/// names with a middle initial.
pub fn people(rng: &mut impl Rng, count: usize) -> Vec<String> {
    let combos = FIRST.len() * LAST.len();
    let mut order: Vec<u32> = (0..u32::try_from(combos).unwrap_or(u32::MAX)).collect();
    order.shuffle(rng);
    (0..count)
        .map(|n| {
            let combo = order[n % order.len()] as usize;
            let (first, last) = (FIRST[combo % FIRST.len()], LAST[combo / FIRST.len()]);
            match n / order.len() {
                0 => format!("{first} {last}"),
                round => {
                    let initial = char::from(b'A' + u8::try_from((round - 1) % 26).unwrap_or(0));
                    format!("{first} {initial}. {last}")
                }
            }
        })
        .collect()
}

/// How one country's numbers are shown: the country code, the masked
/// groups, and how many trailing digits stay visible.
struct Mask {
    code: &'static str,
    hidden: &'static str,
    visible: usize,
    weight: u32,
}

const MASKS: &[Mask] = &[
    Mask {
        code: "+1",
        hidden: "••• ••• ",
        visible: 4,
        weight: 50,
    },
    Mask {
        code: "+44",
        hidden: "•••• ••",
        visible: 4,
        weight: 14,
    },
    Mask {
        code: "+61",
        hidden: "••• ••• ",
        visible: 3,
        weight: 6,
    },
    Mask {
        code: "+49",
        hidden: "•••• •••",
        visible: 4,
        weight: 7,
    },
    Mask {
        code: "+33",
        hidden: "• •• •• ",
        visible: 4,
        weight: 6,
    },
    Mask {
        code: "+34",
        hidden: "••• ••• ",
        visible: 3,
        weight: 5,
    },
    Mask {
        code: "+52",
        hidden: "•• •••• ",
        visible: 4,
        weight: 6,
    },
    Mask {
        code: "+91",
        hidden: "••••• •",
        visible: 4,
        weight: 6,
    },
];

/// A customer's number as the server shows it: the country code and the last
/// few digits, the rest masked, e.g. `+1 ••• ••• 0134`.
pub fn masked_number(rng: &mut impl Rng) -> String {
    let total: u32 = MASKS.iter().map(|m| m.weight).sum();
    let mut pick = rng.random_range(0..total);
    let mask = MASKS
        .iter()
        .find(|m| {
            if pick < m.weight {
                true
            } else {
                pick -= m.weight;
                false
            }
        })
        .unwrap_or(&MASKS[0]);
    let digits: String = (0..mask.visible)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    format!("{} {}{}", mask.code, mask.hidden, digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;
    use std::collections::HashSet;

    #[test]
    fn names_are_distinct_and_seeded() {
        let a = people(&mut SmallRng::seed_from_u64(7), 500);
        let b = people(&mut SmallRng::seed_from_u64(7), 500);
        let c = people(&mut SmallRng::seed_from_u64(8), 500);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.iter().collect::<HashSet<_>>().len(), 500);
    }

    #[test]
    fn past_the_pools_names_get_a_middle_initial_and_stay_distinct() {
        let combos = FIRST.len() * LAST.len();
        let names = people(&mut SmallRng::seed_from_u64(1), combos + 10);
        assert_eq!(names.iter().collect::<HashSet<_>>().len(), combos + 10);
        assert!(names[combos].contains(" A. "), "{}", names[combos]);
    }

    #[test]
    fn numbers_are_masked_and_keep_only_a_few_digits() {
        let mut rng = SmallRng::seed_from_u64(3);
        for _ in 0..200 {
            let number = masked_number(&mut rng);
            assert!(number.starts_with('+'), "{number}");
            assert!(number.contains('•'), "{number}");
            let visible = number.chars().skip(4).filter(char::is_ascii_digit).count();
            assert!((2..=4).contains(&visible), "{number}");
        }
    }
}
