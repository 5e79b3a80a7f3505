//! What the transcript bot hears: short conversations per team, spoken in
//! turns by the agent and the customer.

/// Who says a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Agent,
    Customer,
}

use Speaker::{Agent as A, Customer as C};

/// One conversation, line by line.
pub type Dialogue = &'static [(Speaker, &'static str)];

const BILLING: &[Dialogue] = &[
    &[
        (
            A,
            "Thanks for calling billing, this is the accounts team, how can I help?",
        ),
        (C, "Hi, I was charged twice for my March invoice"),
        (A, "I'm sorry about that, let me pull up the account"),
        (A, "I can see the duplicate payment from the fourteenth"),
        (C, "So can you put it back on my card?"),
        (A, "Yes, I've issued the refund just now"),
        (A, "The refund should show up in three to five days"),
        (C, "Great, and will I get an email about it?"),
        (A, "You'll get a confirmation email within the hour"),
    ],
    &[
        (C, "I don't understand this late fee on my bill"),
        (
            A,
            "Let me check, it looks like the autopay failed on the first",
        ),
        (C, "My card expired, I forgot to update it"),
        (A, "No problem, I can waive the fee this once"),
        (
            A,
            "Would you like to update the card now while we're on the line?",
        ),
        (C, "Sure, let's do that"),
    ],
];

const RETENTION: &[Dialogue] = &[
    &[
        (C, "I'd like to cancel my subscription please"),
        (
            A,
            "I can help with that, may I ask what's prompting the cancellation?",
        ),
        (C, "Honestly it's just too expensive right now"),
        (
            A,
            "I understand, I can offer you forty percent off for the next six months",
        ),
        (C, "Hmm, what would that come to per month?"),
        (A, "It would be eighteen dollars instead of thirty"),
        (C, "Okay, that works, let's keep it then"),
    ],
    &[
        (C, "Your competitor is offering me a much better deal"),
        (A, "I'd hate to lose you after four years with us"),
        (A, "Let me see what loyalty offers are on your account"),
        (C, "I'd need at least the same data allowance"),
        (A, "I can double your data at no extra cost"),
    ],
];

const SALES: &[Dialogue] = &[
    &[
        (
            A,
            "Hi, I'm following up on the quote you requested last week",
        ),
        (C, "Oh right, we're still comparing options"),
        (A, "What matters most to your team, price or support hours?"),
        (C, "Support hours, we work weekends"),
        (
            A,
            "Our business plan includes weekend support around the clock",
        ),
        (C, "Can you send me the details in writing?"),
        (A, "I'll email the proposal this afternoon"),
    ],
    &[
        (C, "I saw the promotion on your website"),
        (A, "Yes, the annual plan is twenty percent off this month"),
        (C, "Does that include the premium features?"),
        (A, "It does, and you can add up to five users"),
        (C, "Okay, let's go ahead with that"),
    ],
];

const SUPPORT: &[Dialogue] = &[
    &[
        (A, "Customer support, what can I do for you today?"),
        (C, "I never received my order, it's been two weeks"),
        (A, "Let me look up the tracking number"),
        (A, "It looks like the parcel was returned to our warehouse"),
        (C, "Why would that happen?"),
        (A, "The address was missing the apartment number"),
        (
            A,
            "I'll ship a replacement with express delivery at no charge",
        ),
    ],
    &[
        (C, "I need to change the delivery address on my order"),
        (A, "Sure, it hasn't shipped yet so that's no problem"),
        (A, "What's the new address?"),
        (C, "It's the office on Harbour Street, number twelve"),
        (A, "Done, you'll get an updated confirmation shortly"),
    ],
];

const TECH: &[Dialogue] = &[
    &[
        (C, "My internet keeps dropping every few minutes"),
        (A, "Let's start with the router, are all the lights green?"),
        (C, "The second one is blinking orange"),
        (A, "That means it's losing the line signal"),
        (A, "I'm going to run a line test from our side, one moment"),
        (
            A,
            "I can see noise on the line, I'll book an engineer visit",
        ),
        (C, "Can they come on Thursday morning?"),
        (A, "Thursday between eight and twelve is booked for you"),
    ],
    &[
        (C, "The app won't let me log in after the update"),
        (A, "Are you seeing an error message?"),
        (C, "It just says session expired"),
        (
            A,
            "Please sign out on the website and then try the app again",
        ),
        (C, "Oh, that worked, thank you"),
    ],
];

const GENERAL: &[Dialogue] = &[&[
    (A, "Thanks for holding, I have your account open now"),
    (C, "Thanks, I've been trying to sort this out all week"),
    (
        A,
        "Let's get it fixed today, can you confirm your postcode?",
    ),
    (C, "Sure, it's on the letter you sent me"),
    (A, "Perfect, you're verified"),
    (A, "Is there anything else I can help you with?"),
]];

/// The conversations a team's calls are drawn from.
pub fn dialogues(team: &str) -> &'static [Dialogue] {
    match team {
        "billing" => BILLING,
        "retention" => RETENTION,
        "sales" => SALES,
        "support" => SUPPORT,
        "tech" => TECH,
        _ => GENERAL,
    }
}

/// What an interim transcript shows while a line is still being spoken:
/// its first half, word by word.
pub fn interim(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    words[..words.len().div_ceil(2)].join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_team_has_conversations_in_turns() {
        for team in [
            "billing",
            "retention",
            "sales",
            "support",
            "tech",
            "collections",
        ] {
            let pool = dialogues(team);
            assert!(!pool.is_empty(), "{team}");
            for dialogue in pool {
                assert!(dialogue.iter().any(|(s, _)| *s == Speaker::Agent));
                assert!(dialogue.iter().any(|(s, _)| *s == Speaker::Customer));
            }
        }
    }

    #[test]
    fn interim_is_the_start_of_the_line() {
        assert_eq!(
            interim("the refund should show up soon"),
            "the refund should"
        );
        assert_eq!(interim("yes"), "yes");
        assert_eq!(interim(""), "");
    }
}
