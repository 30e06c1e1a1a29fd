"""Phrase banks for the synthetic review generator (private).

Clauses are lower-case, without final punctuation, so that the generator can join them with
"but"/"and", capitalise them and add its own punctuation. ``{item}`` is replaced by a noun that
fits the product class ("dress", "pair of jeans"). Each aspect has five levels of polarity, from
strongly positive (0) to strongly negative (4); the generator draws a level per sentence from a
distribution that depends on the star rating, which is what makes the text learnable but not
trivially so.
"""

from __future__ import annotations

# Level order: strong positive, mild positive, neutral, mild negative, strong negative.
ASPECT_CLAUSES: dict[str, tuple[tuple[str, ...], ...]] = {
    "fit": (
        (
            "the fit is perfect",
            "it fits like a glove",
            "the cut is so flattering",
            "it hugs my curves in all the right places",
            "the fit is absolutely amazing",
        ),
        (
            "the fit is pretty good",
            "it fits nicely through the shoulders",
            "it drapes well",
            "the fit is flattering enough",
            "it fits well overall",
        ),
        (
            "the fit is what i expected",
            "it is a relaxed fit",
            "the waist sits a little higher than i thought",
            "the length hits right at the knee",
            "it is cut a bit boxy",
        ),
        (
            "the fit is a little off",
            "it is a bit tight across the chest",
            "the armholes are cut too low",
            "it gapes at the back",
            "the waist is a bit loose",
        ),
        (
            "the fit is terrible",
            "it looked like a sack on me",
            "the proportions are completely wrong",
            "it is so unflattering",
            "the fit is just awful",
        ),
    ),
    "fabric": (
        (
            "the fabric is so soft",
            "the material is luxurious",
            "the fabric feels wonderful against the skin",
            "the material is heavenly",
            "the fabric is beautiful and substantial",
        ),
        (
            "the fabric is nice",
            "the material is soft enough",
            "the fabric has a nice weight",
            "the material feels decent",
            "the fabric is comfortable",
        ),
        (
            "the fabric is a cotton blend",
            "the material is medium weight",
            "the fabric has a little stretch",
            "it is lined",
            "the material is thinner than the photo suggests",
        ),
        (
            "the fabric is a bit thin",
            "the material is slightly scratchy",
            "the fabric wrinkles easily",
            "the material is a little see-through",
            "the fabric feels a bit cheap",
        ),
        (
            "the fabric is paper thin",
            "the material is itchy and stiff",
            "the fabric is completely see-through",
            "the material feels like cheap plastic",
            "the fabric pilled after one wear",
        ),
    ),
    "colour": (
        (
            "the color is gorgeous",
            "the colors are stunning in person",
            "the print is beautiful",
            "the color is so vibrant",
            "i adore the color",
        ),
        (
            "the color is nice",
            "the print is cute",
            "the color is pretty",
            "i like the color",
            "the pattern is lovely",
        ),
        (
            "the color is a bit darker than online",
            "the color is more muted in person",
            "the print is subtle",
            "i got the navy",
            "the color is as pictured",
        ),
        (
            "the color is a bit dull",
            "the color is not quite what i expected",
            "the print looks a bit busy",
            "the color washed me out",
            "the color is different from the picture",
        ),
        (
            "the color is hideous",
            "the color looks nothing like the photo",
            "the print is ugly in person",
            "the color faded after one wash",
            "the dye bled all over my other clothes",
        ),
    ),
    "price": (
        (
            "it is worth every penny",
            "the price is a steal",
            "it is a great value",
            "i would pay full price for this",
            "it is such a bargain",
        ),
        (
            "the price is fair",
            "it was a good deal on sale",
            "the price is reasonable",
            "it is worth it on sale",
            "the value is decent",
        ),
        (
            "i got it on sale",
            "i paid full price",
            "i used a coupon",
            "it was marked down",
            "the price is about average",
        ),
        (
            "it is a bit pricey",
            "it is overpriced for what it is",
            "i would only buy it on sale",
            "the price is a little high",
            "it is not worth full price",
        ),
        (
            "it is a total waste of money",
            "the price is ridiculous",
            "it is way overpriced",
            "it is not worth half the price",
            "i regret spending so much on it",
        ),
    ),
    "quality": (
        (
            "the quality is excellent",
            "it is beautifully made",
            "the craftsmanship is superb",
            "the details are exquisite",
            "the quality is outstanding",
        ),
        (
            "the quality is good",
            "it seems well made",
            "the stitching is neat",
            "it held up well in the wash",
            "the quality is solid",
        ),
        (
            "the quality is what you would expect",
            "it has a side zipper",
            "it is machine washable",
            "the buttons are functional",
            "it needs to be hand washed",
        ),
        (
            "the quality is a bit disappointing",
            "a few threads were loose",
            "the seams look a little sloppy",
            "it shrank a bit in the wash",
            "the zipper is flimsy",
        ),
        (
            "the quality is terrible",
            "it fell apart after one wash",
            "the seams ripped the first time i wore it",
            "it arrived with a hole",
            "the quality is shockingly poor",
        ),
    ),
    "sizing": (
        (
            "it runs perfectly true to size",
            "my usual size fit perfectly",
            "the sizing is spot on",
            "the petite size is perfect",
            "the size chart was exactly right",
        ),
        (
            "it runs true to size",
            "my usual size works",
            "the sizing is consistent",
            "the small fits well",
            "sizing is pretty accurate",
        ),
        (
            "i ordered my usual size",
            "i am between sizes and went with the larger one",
            "i usually wear a medium",
            "i got the petite",
            "i ordered two sizes to compare",
        ),
        (
            "it runs a little small",
            "it runs slightly large",
            "i had to size down",
            "i should have sized up",
            "the sizing is a bit inconsistent",
        ),
        (
            "it runs two sizes too small",
            "the sizing is way off",
            "it is huge even in an xs",
            "i could not even zip it up",
            "the sizing is completely wrong",
        ),
    ),
    "style": (
        (
            "this {item} is absolutely stunning",
            "i love this {item}",
            "this {item} is gorgeous",
            "i get so many compliments on this {item}",
            "this {item} is my new favorite",
        ),
        (
            "this {item} is cute",
            "this {item} is very pretty",
            "this {item} is a nice basic",
            "i like this {item}",
            "this {item} looks nice with jeans",
        ),
        (
            "this {item} is simple",
            "this {item} is fine for everyday",
            "this {item} is pretty basic",
            "the {item} looks like the picture",
            "this {item} is okay",
        ),
        (
            "this {item} is not very flattering",
            "this {item} looks frumpy on me",
            "this {item} is just not for me",
            "this {item} looks a bit cheap",
            "this {item} was a letdown",
        ),
        (
            "i hate this {item}",
            "this {item} is a disaster",
            "this {item} is the worst purchase i have made",
            "this {item} looks awful",
            "this {item} is a huge disappointment",
        ),
    ),
}

# Whole-review verdicts (one per review at most), by the same five levels.
VERDICTS: tuple[tuple[str, ...], ...] = (
    (
        "highly recommend",
        "i want it in every color",
        "absolutely love it",
        "five stars",
        "i ordered a second one",
    ),
    (
        "i am happy with it",
        "i will keep it",
        "overall a nice purchase",
        "i would buy it again",
        "it is a good addition to my closet",
    ),
    (
        "it is okay, nothing special",
        "not sure if i will keep it",
        "it is just average",
        "mixed feelings about this one",
        "i might keep it",
    ),
    (
        "i will probably return it",
        "not what i hoped for",
        "i was a bit disappointed",
        "it is going back",
        "meh",
    ),
    (
        "returning it immediately",
        "do not buy this",
        "what a waste",
        "i am so disappointed",
        "worst purchase ever",
    ),
)

# Neutral context that real reviews are full of; carries no sentiment.
FILLERS: tuple[str, ...] = (
    "i am 5'{h}\" and {w} lbs",
    "i ordered it online",
    "i bought it for a wedding",
    "i tried it on in the store",
    "i wore it to work today",
    "i usually wear a size {size}",
    "i got it for my vacation",
    "my daughter picked it out for me",
    "i have a long torso",
    "i am petite",
    "i bought it to wear for the holidays",
    "i washed it on cold",
)

CONNECTORS: tuple[str, ...] = (" but ", ", but ", " although ", ", however ", " though ")
# Sentence openers by polarity group: positive (levels 0-1), neutral (2), negative (3-4).
OPENERS: tuple[tuple[str, ...], ...] = (
    ("honestly, ", "overall ", "luckily, ", "i think ", "", "", "", "", ""),
    ("honestly, ", "overall ", "i think ", "", "", "", "", ""),
    ("sadly, ", "unfortunately, ", "honestly, ", "i think ", "", "", "", "", ""),
)

# Titles by review polarity: positive (ratings 4-5), mixed (3), negative (1-2).
TITLES: tuple[tuple[str, ...], ...] = (
    (
        "Love it!",
        "Beautiful {item}",
        "Perfect {item}",
        "So pretty",
        "Great basic",
        "My new favorite",
        "Flattering and comfortable",
        "Gorgeous",
        "Love this {item}!",
        "Wonderful",
    ),
    (
        "Cute but runs small",
        "Nice but pricey",
        "Okay",
        "So-so",
        "Pretty but thin",
        "Almost perfect",
        "Mixed feelings",
        "Wanted to love it",
        "Not bad",
    ),
    (
        "Disappointed",
        "Returned",
        "Not for me",
        "Poor quality",
        "Huge letdown",
        "Runs small",
        "Save your money",
        "Did not work",
        "Not as pictured",
    ),
)
