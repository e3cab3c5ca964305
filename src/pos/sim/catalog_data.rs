//! What the simulated shop sells: a neighbourhood grocery-and-gift shop. Each item carries its
//! typical daily units at the main location, when in the year it sells best, and the option
//! lists (sizes, colours, flavours) that become variations.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Season {
    Flat,
    /// Peaks in January, low in July (hoodies, hot chocolate).
    Winter,
    /// Peaks in July (iced drinks, sunscreen).
    Summer,
    /// A sharp lift in December (candles, wrapping paper).
    Holiday,
}

pub struct ItemSpec {
    pub name: &'static str,
    pub price_cents: i64,
    /// Typical units a day at the main location across all variations.
    pub daily: f64,
    pub season: Season,
    /// Option lists; the variations are their cross product.
    pub options: &'static [&'static [&'static str]],
    /// Sold by weight (kg), so quantities have decimals.
    pub by_weight: bool,
}

pub struct CategorySpec {
    pub name: &'static str,
    /// Index into `VENDORS`.
    pub vendor: usize,
    pub pack_size: u32,
    /// Saturday and Sunday demand relative to a weekday.
    pub weekend_lift: f64,
    pub items: &'static [ItemSpec],
}

pub struct VendorSpec {
    pub name: &'static str,
    pub email: &'static str,
    pub lead_time_days: u32,
    pub minimum_order_cents: i64,
}

pub const VENDORS: &[VendorSpec] = &[
    VendorSpec {
        name: "Northern Dairy Co.",
        email: "orders@northerndairy.example",
        lead_time_days: 2,
        minimum_order_cents: 15_000,
    },
    VendorSpec {
        name: "Bean & Leaf Roasters",
        email: "wholesale@beanandleaf.example",
        lead_time_days: 5,
        minimum_order_cents: 20_000,
    },
    VendorSpec {
        name: "Sunrise Bakery",
        email: "standing-orders@sunrisebakery.example",
        lead_time_days: 1,
        minimum_order_cents: 5_000,
    },
    VendorSpec {
        name: "Pantry Wholesale",
        email: "po@pantrywholesale.example",
        lead_time_days: 4,
        minimum_order_cents: 25_000,
    },
    VendorSpec {
        name: "Greenfield Farms",
        email: "orders@greenfieldfarms.example",
        lead_time_days: 1,
        minimum_order_cents: 8_000,
    },
    VendorSpec {
        name: "Kiln & Co. Homeware",
        email: "trade@kilnandco.example",
        lead_time_days: 10,
        minimum_order_cents: 30_000,
    },
    VendorSpec {
        name: "Threadline Apparel",
        email: "b2b@threadline.example",
        lead_time_days: 14,
        minimum_order_cents: 50_000,
    },
    VendorSpec {
        name: "Paper Trail Supply",
        email: "orders@papertrail.example",
        lead_time_days: 6,
        minimum_order_cents: 10_000,
    },
    VendorSpec {
        name: "Good Spirits Distributors",
        email: "orders@goodspirits.example",
        lead_time_days: 3,
        minimum_order_cents: 40_000,
    },
];

/// What people buy together: `(item, what goes with it, share)`, where that share of the second
/// item's units (as far as the first item's sales allow) is sold in the same visit as the first.
/// The checkout assistant's add-on suggestions are mined from exactly this kind of pattern.
pub const COMPANIONS: &[(&str, &str, f64)] = &[
    ("Spaghetti 500g", "Marinara Sauce 680g", 0.6),
    ("Tortilla Chips 300g", "Hass Avocado", 0.25),
    ("Sourdough Loaf", "Salted Butter 250g", 0.5),
    ("Birthday Card", "Wrapping Paper Roll", 0.6),
    ("Brie 150g", "Baguette", 0.1),
    ("Pour Over Filters 100 Pack", "House Blend Coffee Beans 250g", 0.08),
];

/// Items bought now and then by the case or the tray as well as one at a time (an office
/// restocking its coffee, a party's focaccia): `(item, chance a day at a location, fewest,
/// most)` of such a bulk buy. They make those items' demand lumpy, as real shops' is.
pub const BULK_BUYS: &[(&str, f64, u32, u32)] = &[
    ("Espresso Roast Beans 1kg", 0.02, 4, 10),
    ("House Blend Coffee Beans 250g", 0.015, 6, 12),
    ("Rosemary Focaccia", 0.02, 6, 12),
    ("Brie 150g", 0.015, 4, 8),
    ("Ginger Kombucha 330ml", 0.02, 12, 24),
    ("Cold Pressed Green Juice 350ml", 0.02, 6, 12),
    ("Extra Virgin Olive Oil 500ml", 0.015, 4, 8),
    ("Wildflower Honey 500g", 0.01, 4, 8),
];

const fn item(name: &'static str, price_cents: i64, daily: f64, season: Season) -> ItemSpec {
    ItemSpec { name, price_cents, daily, season, options: &[], by_weight: false }
}

const fn with(
    name: &'static str,
    price_cents: i64,
    daily: f64,
    season: Season,
    options: &'static [&'static [&'static str]],
) -> ItemSpec {
    ItemSpec { name, price_cents, daily, season, options, by_weight: false }
}

const fn weighed(name: &'static str, price_cents: i64, daily: f64, season: Season) -> ItemSpec {
    ItemSpec { name, price_cents, daily, season, options: &[], by_weight: true }
}

use Season::{Flat, Holiday, Summer, Winter};

const SIZES: &[&str] = &["Small", "Medium", "Large", "XL"];

pub const CATEGORIES: &[CategorySpec] = &[
    CategorySpec {
        name: "Coffee & Tea",
        vendor: 1,
        pack_size: 6,
        weekend_lift: 1.1,
        items: &[
            item("House Blend Coffee Beans 250g", 1299, 4.0, Flat),
            item("Espresso Roast Beans 1kg", 3499, 1.0, Flat),
            item("Decaf Colombian Beans 250g", 1399, 0.8, Flat),
            item("Ethiopian Yirgacheffe Beans 250g", 1599, 0.7, Flat),
            item("Cold Brew Concentrate 1L", 1199, 2.0, Summer),
            item("Earl Grey Tea 20 Bags", 599, 1.5, Winter),
            item("English Breakfast Tea 40 Bags", 749, 2.0, Flat),
            item("Sencha Green Tea 20 Bags", 649, 0.9, Flat),
            item("Chamomile Tea 20 Bags", 599, 0.6, Winter),
            item("Chai Latte Mix 250g", 899, 0.8, Winter),
            item("Matcha Powder 50g", 1899, 0.3, Flat),
            item("Hot Chocolate Mix 400g", 799, 1.2, Winter),
            item("Peppermint Tea 20 Bags", 599, 0.5, Flat),
            item("Rooibos Tea 20 Bags", 599, 0.2, Flat),
            item("French Press 8 Cup", 3499, 0.12, Holiday),
            item("Pour Over Filters 100 Pack", 599, 0.4, Flat),
            item("Manual Coffee Grinder", 4499, 0.05, Holiday),
        ],
    },
    CategorySpec {
        name: "Dairy & Alternatives",
        vendor: 0,
        pack_size: 12,
        weekend_lift: 1.2,
        items: &[
            item("Oat Milk 1L", 449, 36.0, Flat),
            item("Whole Milk 1L", 299, 12.0, Flat),
            item("Skim Milk 1L", 289, 4.0, Flat),
            item("Almond Milk 1L", 479, 5.0, Flat),
            item("Soy Milk 1L", 429, 3.0, Flat),
            item("Greek Yogurt 500g", 549, 4.0, Summer),
            item("Vanilla Yogurt 150g", 149, 6.0, Flat),
            item("Salted Butter 250g", 499, 3.0, Holiday),
            item("Aged Cheddar 200g", 599, 3.0, Flat),
            item("Brie 150g", 749, 1.0, Holiday),
            item("Feta 200g", 649, 1.2, Summer),
            item("Heavy Cream 500ml", 399, 1.5, Holiday),
            item("Free Range Eggs 12 Pack", 599, 7.0, Flat),
            item("Cottage Cheese 400g", 449, 0.8, Flat),
            item("Oat Creamer 500ml", 399, 1.2, Flat),
        ],
    },
    CategorySpec {
        name: "Bakery",
        vendor: 2,
        pack_size: 6,
        weekend_lift: 1.6,
        items: &[
            item("Sourdough Loaf", 749, 10.0, Flat),
            item("Whole Wheat Loaf", 599, 5.0, Flat),
            item("Baguette", 399, 8.0, Flat),
            item("Butter Croissant", 325, 15.0, Flat),
            item("Pain au Chocolat", 375, 9.0, Flat),
            item("Blueberry Muffin", 349, 8.0, Summer),
            item("Cinnamon Roll", 399, 6.0, Winter),
            with("Bagel", 199, 12.0, Flat, &[&["Plain", "Sesame", "Everything"]]),
            item("Banana Bread Slice", 349, 4.0, Flat),
            item("Gingerbread Cookie", 249, 1.0, Holiday),
            item("Rosemary Focaccia", 649, 2.0, Flat),
            item("Rye Loaf", 649, 1.0, Flat),
        ],
    },
    CategorySpec {
        name: "Snacks",
        vendor: 3,
        pack_size: 12,
        weekend_lift: 1.3,
        items: &[
            item("Sea Salt Potato Chips 150g", 349, 6.0, Summer),
            item("Salt & Vinegar Chips 150g", 349, 4.0, Summer),
            item("Tortilla Chips 300g", 399, 3.0, Summer),
            item("Salted Pretzels 200g", 299, 2.0, Flat),
            item("Dark Chocolate Bar 70% 100g", 349, 5.0, Holiday),
            item("Milk Chocolate Bar 100g", 299, 5.0, Holiday),
            item("Trail Mix 250g", 599, 2.0, Flat),
            item("Oat Honey Granola Bar", 129, 8.0, Flat),
            item("Peanut Protein Bar", 249, 4.0, Flat),
            item("Rice Crackers 100g", 279, 1.5, Flat),
            item("Sea Salt Popcorn 100g", 299, 2.0, Flat),
            item("Gummy Bears 200g", 249, 3.0, Flat),
            item("Roasted Almonds 200g", 699, 1.5, Flat),
            item("Beef Jerky 75g", 799, 1.0, Flat),
            item("Candy Canes 5 Pack", 299, 0.6, Holiday),
        ],
    },
    CategorySpec {
        name: "Drinks",
        vendor: 3,
        pack_size: 24,
        weekend_lift: 1.4,
        items: &[
            with("Sparkling Water 330ml", 149, 20.0, Summer, &[&["Plain", "Lemon", "Lime"]]),
            item("Still Water 500ml", 129, 18.0, Summer),
            item("Cola 330ml", 179, 15.0, Summer),
            item("Diet Cola 330ml", 179, 8.0, Summer),
            item("Ginger Beer 330ml", 229, 4.0, Summer),
            item("Orange Juice 1L", 499, 5.0, Flat),
            item("Apple Juice 1L", 449, 3.0, Flat),
            item("Peach Iced Tea 500ml", 249, 6.0, Summer),
            item("Ginger Kombucha 330ml", 399, 3.0, Flat),
            item("Energy Drink 250ml", 299, 5.0, Flat),
            item("Coconut Water 330ml", 299, 2.0, Summer),
            item("Lemonade 1L", 399, 4.0, Summer),
            item("Cold Pressed Green Juice 350ml", 699, 1.5, Flat),
        ],
    },
    CategorySpec {
        name: "Produce",
        vendor: 4,
        pack_size: 10,
        weekend_lift: 1.3,
        items: &[
            weighed("Bananas (per kg)", 199, 8.0, Flat),
            weighed("Honeycrisp Apples (per kg)", 549, 4.0, Winter),
            item("Hass Avocado", 179, 10.0, Flat),
            item("Lemon", 79, 6.0, Summer),
            weighed("Vine Tomatoes (per kg)", 599, 3.0, Summer),
            item("Baby Spinach 150g", 399, 4.0, Flat),
            item("Strawberries 400g", 499, 5.0, Summer),
            item("Blueberries 170g", 449, 4.0, Summer),
            item("Clementines 1kg Bag", 599, 4.0, Winter),
            weighed("Sweet Potatoes (per kg)", 349, 2.0, Winter),
            item("Garlic Bulb", 99, 3.0, Flat),
            weighed("Red Onions (per kg)", 249, 2.0, Flat),
            item("Fresh Basil", 249, 1.5, Summer),
        ],
    },
    CategorySpec {
        name: "Pantry",
        vendor: 3,
        pack_size: 12,
        weekend_lift: 1.1,
        items: &[
            item("Spaghetti 500g", 249, 5.0, Winter),
            item("Penne 500g", 249, 4.0, Winter),
            item("Marinara Sauce 680g", 499, 3.0, Winter),
            item("Extra Virgin Olive Oil 500ml", 1299, 1.5, Flat),
            item("Basmati Rice 1kg", 499, 2.0, Flat),
            item("Rolled Oats 1kg", 449, 2.5, Winter),
            item("Honey Almond Granola 500g", 699, 2.5, Flat),
            with("Peanut Butter 500g", 549, 3.0, Flat, &[&["Smooth", "Crunchy"]]),
            item("Strawberry Jam 340g", 499, 1.5, Flat),
            item("Wildflower Honey 500g", 899, 1.0, Winter),
            item("Chickpeas 400g", 149, 3.0, Flat),
            item("Black Beans 400g", 149, 2.5, Flat),
            item("Chicken Stock 1L", 349, 2.0, Winter),
            item("Maple Syrup 250ml", 1099, 0.6, Holiday),
            item("Sea Salt Flakes 250g", 599, 0.3, Flat),
            item("Black Peppercorns 100g", 499, 0.3, Flat),
            item("Tomato Soup 400g", 299, 2.0, Winter),
        ],
    },
    CategorySpec {
        name: "Frozen",
        vendor: 0,
        pack_size: 8,
        weekend_lift: 1.3,
        items: &[
            item("Vanilla Ice Cream 1L", 699, 3.0, Summer),
            item("Chocolate Ice Cream 1L", 699, 2.5, Summer),
            item("Frozen Peas 500g", 299, 2.0, Winter),
            item("Margherita Pizza", 899, 3.0, Flat),
            item("Frozen Berries 500g", 599, 1.5, Summer),
            item("Vegetable Dumplings 400g", 799, 1.2, Flat),
            item("Ice Pops 6 Pack", 549, 2.0, Summer),
            item("Bag of Ice 2kg", 399, 3.0, Summer),
        ],
    },
    CategorySpec {
        name: "Personal Care",
        vendor: 3,
        pack_size: 6,
        weekend_lift: 1.0,
        items: &[
            item("Lavender Hand Soap 300ml", 599, 1.0, Flat),
            item("Mint Toothpaste 100ml", 449, 1.2, Flat),
            item("Argan Shampoo 400ml", 899, 0.6, Flat),
            item("Beeswax Lip Balm", 349, 1.0, Winter),
            item("Sunscreen SPF 50 200ml", 1299, 0.8, Summer),
            item("Tissues Box", 249, 1.5, Winter),
            item("Bamboo Toothbrush", 399, 0.4, Flat),
            item("Natural Deodorant", 999, 0.3, Flat),
            item("Shea Hand Cream 75ml", 799, 0.4, Winter),
        ],
    },
    CategorySpec {
        name: "Household",
        vendor: 3,
        pack_size: 6,
        weekend_lift: 1.1,
        items: &[
            item("Dish Soap 500ml", 399, 1.2, Flat),
            item("Paper Towels 2 Roll", 499, 1.5, Flat),
            item("Toilet Paper 6 Roll", 799, 2.0, Flat),
            item("Compostable Trash Bags 20", 699, 0.8, Flat),
            item("AA Batteries 4 Pack", 799, 0.6, Holiday),
            item("Matches 3 Pack", 199, 0.3, Winter),
            item("Laundry Detergent 1.5L", 1299, 0.5, Flat),
            item("Dish Sponges 3 Pack", 349, 0.7, Flat),
        ],
    },
    CategorySpec {
        name: "Pets",
        vendor: 3,
        pack_size: 12,
        weekend_lift: 1.2,
        items: &[
            item("Chicken Dog Treats 200g", 699, 1.2, Flat),
            item("Tuna Cat Food 85g", 149, 3.0, Flat),
            item("Dry Dog Food 2kg", 1899, 0.4, Flat),
            item("Cat Litter 5kg", 1299, 0.3, Flat),
            item("Rope Dog Toy", 999, 0.1, Holiday),
        ],
    },
    CategorySpec {
        name: "Homeware",
        vendor: 5,
        pack_size: 4,
        weekend_lift: 1.8,
        items: &[
            with("Ceramic Mug", 1499, 1.2, Holiday, &[&["Blue", "White", "Green", "Red"]]),
            with("Insulated Tumbler 12oz", 2499, 0.6, Winter, &[&["Black", "Steel", "Blue"]]),
            with("Soy Candle", 2299, 0.5, Holiday, &[&["Fig", "Cedar", "Vanilla"]]),
            with("Linen Tea Towel", 999, 0.3, Flat, &[&["Stripe", "Check"]]),
            item("Glass Water Bottle 750ml", 1999, 0.3, Summer),
            item("Beeswax Wraps 3 Pack", 1599, 0.25, Flat),
            item("Reusable Tote Bag", 499, 1.0, Flat),
            item("Bamboo Cutting Board", 2999, 0.08, Holiday),
            item("Ceramic Teapot", 3999, 0.05, Holiday),
        ],
    },
    CategorySpec {
        name: "Apparel",
        vendor: 6,
        pack_size: 6,
        weekend_lift: 2.0,
        items: &[
            with("Crew T-Shirt", 2499, 1.2, Summer, &[SIZES, &["Black", "White", "Blue"]]),
            with("Pullover Hoodie", 5499, 0.7, Winter, &[SIZES, &["Grey", "Black"]]),
            with("Knit Beanie", 2199, 0.6, Winter, &[&["Black", "Red", "Grey"]]),
            with("Canvas Cap", 2499, 0.3, Summer, &[&["Navy", "Khaki"]]),
            with("Crew Socks", 1299, 0.5, Flat, &[&["S/M", "L/XL"]]),
            with("Rain Jacket", 8999, 0.1, Flat, &[SIZES]),
            with("Wool Scarf", 3499, 0.15, Winter, &[&["Grey", "Burgundy"]]),
        ],
    },
    CategorySpec {
        name: "Stationery",
        vendor: 7,
        pack_size: 10,
        weekend_lift: 1.5,
        items: &[
            item("Birthday Card", 499, 1.0, Flat),
            item("Thank You Card", 499, 0.5, Flat),
            with("Dotted Notebook A5", 1299, 0.4, Flat, &[&["Black", "Sage"]]),
            item("Gel Pens 3 Pack", 699, 0.4, Flat),
            item("Wrapping Paper Roll", 699, 0.5, Holiday),
            item("City Skyline Postcard", 199, 0.6, Summer),
            item("Weekly Planner 2027", 1899, 0.2, Holiday),
            item("Sticky Notes", 499, 0.3, Flat),
        ],
    },
    CategorySpec {
        name: "Alcohol",
        vendor: 8,
        pack_size: 12,
        weekend_lift: 2.2,
        items: &[
            item("Hazy IPA 6 Pack", 1299, 3.0, Summer),
            item("Pilsner Lager 6 Pack", 1099, 4.0, Summer),
            item("Oatmeal Stout 4 Pack", 1199, 1.0, Winter),
            item("Dry Hard Cider 4 Pack", 1099, 1.5, Flat),
            item("Pinot Noir 750ml", 1899, 1.5, Holiday),
            item("Sauvignon Blanc 750ml", 1699, 1.5, Summer),
            item("Prosecco 750ml", 1599, 1.0, Holiday),
            item("Rosé 750ml", 1599, 1.0, Summer),
            item("Red Blend 750ml", 1399, 1.2, Flat),
        ],
    },
    CategorySpec {
        name: "Deli",
        vendor: 0,
        pack_size: 6,
        weekend_lift: 1.4,
        items: &[
            item("Sliced Turkey 150g", 599, 3.0, Flat),
            item("Smoked Ham 150g", 549, 2.5, Flat),
            item("Genoa Salami 100g", 649, 1.5, Holiday),
            item("Chicken Caesar Wrap", 799, 6.0, Summer),
            item("Turkey Club Sandwich", 899, 7.0, Flat),
            item("Caprese Panini", 849, 4.0, Summer),
            item("Hummus 250g", 449, 3.0, Summer),
            item("Potato Salad 400g", 499, 1.5, Summer),
            item("Quinoa Salad Bowl", 999, 3.0, Summer),
            item("Chicken Noodle Soup 500ml", 649, 3.0, Winter),
            item("Olive Medley 200g", 599, 1.2, Holiday),
            item("Pasta Salad 400g", 549, 1.5, Summer),
        ],
    },
    CategorySpec {
        name: "Flowers & Plants",
        vendor: 4,
        pack_size: 5,
        weekend_lift: 2.0,
        items: &[
            with("Tulip Bunch", 1299, 1.5, Flat, &[&["Red", "Yellow", "Pink"]]),
            item("Mixed Seasonal Bouquet", 1999, 1.2, Holiday),
            item("Sunflower Bunch", 1199, 0.8, Summer),
            item("Potted Basil Plant", 599, 0.6, Summer),
            item("Succulent 3 Inch", 799, 0.5, Flat),
            item("Poinsettia 6 Inch", 1499, 0.4, Holiday),
            item("Eucalyptus Bundle", 999, 0.4, Flat),
            item("Potting Soil 5L", 899, 0.2, Summer),
        ],
    },
    CategorySpec {
        name: "Baby & Kids",
        vendor: 3,
        pack_size: 6,
        weekend_lift: 1.2,
        items: &[
            with("Diapers Pack of 28", 1599, 0.8, Flat, &[&["Size 3", "Size 4"]]),
            item("Baby Wipes 80 Count", 499, 1.2, Flat),
            item("Apple Pouch Puree 4 Pack", 599, 1.0, Flat),
            item("Teething Biscuits", 449, 0.4, Flat),
            item("Kids Apple Juice Boxes 8 Pack", 599, 1.0, Summer),
            item("Crayons 24 Pack", 399, 0.3, Holiday),
            item("Bubble Wand", 299, 0.3, Summer),
            item("Coloring Book", 599, 0.2, Holiday),
        ],
    },
    CategorySpec {
        name: "Kitchen",
        vendor: 5,
        pack_size: 4,
        weekend_lift: 1.5,
        items: &[
            item("Wooden Spoon Set", 1499, 0.2, Holiday),
            item("Silicone Spatula", 999, 0.2, Flat),
            item("Chef's Knife 8 Inch", 4999, 0.05, Holiday),
            item("Glass Storage Jar 1L", 1299, 0.25, Flat),
            item("Linen Apron", 2999, 0.1, Holiday),
            item("Oven Mitt", 1199, 0.15, Winter),
            item("Ceramic Salt Cellar", 1599, 0.06, Holiday),
            item("Measuring Cups Set", 1399, 0.1, Flat),
            item("Reusable Coffee Filter", 1299, 0.15, Flat),
            item("Stainless Water Bottle 1L", 2799, 0.2, Summer),
        ],
    },
];
