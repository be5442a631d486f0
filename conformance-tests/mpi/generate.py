#!/usr/bin/env python3
"""Generate a hard MPI record-linkage dataset (seeded, deterministic, python stdlib only).

    generate.py --records 5000 --seed 1 --out DIR

writes DIR/records.csv (rec_id, domain, demographics; no national id) and DIR/links.csv (every
pair of rec_ids within one person). The population is made of households so that the cases a
patient-safety MPI must get right occur at realistic rates:

* twins: same surname, date of birth, address and phone, different given names;
* parent and child with the same given name at one address ("junior"), dates of birth 18-40
  years apart;
* couples at one address sharing surname and phone;
* same-domain duplicates: one person registered twice by one source under two local ids;
* marriages (later records of a woman carry a new surname), moves (new address and phone),
  keying typos, nicknames, day/month swaps and one-digit typos in the date of birth,
  missing values; common names are common (Zipf weights).
"""
import argparse
import csv
import os
import random

MALE = """james john robert michael william david richard joseph thomas charles christopher daniel
matthew anthony andrew joshua kenneth steven timothy jacob nicholas samuel benjamin patrick
peter philip henry edward alexander jonathan gregory frederick lawrence leonard ronald zachary
liam noah oliver lucas mason ethan logan aiden jackson harrison cooper riley hunter lachlan
connor hamish angus fraser callum declan rhys owen tristan jasper felix hugo oscar archie
toby finn kai jayden blake mitchell bradley shane wayne darren trent craig glenn dean""".split()
FEMALE = """elizabeth margaret catherine katherine jennifer jessica patricia susan rebecca samantha
victoria alexandra charlotte josephine barbara deborah dorothy christine emily isabella abigail
eleanor olivia ava mia chloe sophie grace ruby zoe hannah lily ella amelia matilda harper
madison evie scarlett layla willow sienna georgia imogen phoebe jasmine holly tahlia bianca
kirra jade courtney brooke megan tegan kylie leanne narelle sharon tracey belinda rachel
melissa nicole amanda michelle natalie simone fiona heather""".split()
SURNAMES = """smith jones williams brown wilson taylor johnson white martin anderson thompson
nguyen thomas walker harris lee ryan robinson kelly king davis wright evans roberts green hall
wood jackson clarke patel khan lewis james phillips mitchell turner morris campbell cooper
edwards murphy hughes young scott allen stewart baker collins morgan bell tran murray watson
hill price cook reid richardson ward kennedy graham carter chapman russell hunt bailey mills
webb stevens hamilton fraser marshall kaur singh pham le chen wang zhang li liu huang gray
walsh obrien dunn simpson ellis fisher cameron matthews miller barnes palmer gibson sullivan
oconnor mcdonald mckenzie henderson ross black shaw lloyd hayes dixon jenkins burke quinn
harvey byrne burns lynch ferguson doyle holmes rose payne grant knight butler wallace kerr
armstrong cunningham warren gordon webster spencer porter hudson crawford greenwood""".split()
STREETS = """main high church station victoria king queen george elizabeth william park
railway bridge mill school hill albert edward cross forest river lake beach ocean bay
harbour garden orchard maple oak elm pine cedar wattle banksia acacia jacaranda grevillea
boronia waratah kookaburra lyrebird currawong rosella magpie pelican heron ibis emu koala
wombat possum platypus echidna dingo""".split()
STREET_TYPES = ["street", "road", "avenue", "crescent", "place", "drive", "court", "parade", "close", "way"]
LOCALITIES = [
    ("richmond", "3121", "vic"), ("fitzroy", "3065", "vic"), ("brunswick", "3056", "vic"),
    ("footscray", "3011", "vic"), ("geelong", "3220", "vic"), ("ballarat", "3350", "vic"),
    ("bendigo", "3550", "vic"), ("parramatta", "2150", "nsw"), ("newtown", "2042", "nsw"),
    ("bondi", "2026", "nsw"), ("manly", "2095", "nsw"), ("penrith", "2750", "nsw"),
    ("wollongong", "2500", "nsw"), ("newcastle", "2300", "nsw"), ("dubbo", "2830", "nsw"),
    ("toowong", "4066", "qld"), ("southport", "4215", "qld"), ("cairns", "4870", "qld"),
    ("townsville", "4810", "qld"), ("toowoomba", "4350", "qld"), ("ipswich", "4305", "qld"),
    ("fremantle", "6160", "wa"), ("joondalup", "6027", "wa"), ("bunbury", "6230", "wa"),
    ("glenelg", "5045", "sa"), ("norwood", "5067", "sa"), ("elizabeth", "5112", "sa"),
    ("sandy bay", "7005", "tas"), ("launceston", "7250", "tas"), ("belconnen", "2617", "act"),
    ("palmerston", "0830", "nt"), ("darwin", "0800", "nt"),
]
NICKNAMES = {
    "william": ["bill", "will", "billy"], "robert": ["bob", "rob", "bobby"],
    "richard": ["rick", "dick", "richie"], "james": ["jim", "jimmy", "jamie"],
    "john": ["jack", "johnny"], "michael": ["mike", "mick"], "thomas": ["tom", "tommy"],
    "joseph": ["joe", "joey"], "charles": ["charlie", "chuck"], "christopher": ["chris"],
    "daniel": ["dan", "danny"], "david": ["dave"], "matthew": ["matt"], "anthony": ["tony"],
    "andrew": ["andy", "drew"], "joshua": ["josh"], "kenneth": ["ken"], "steven": ["steve"],
    "timothy": ["tim"], "jacob": ["jake"], "nicholas": ["nick"], "samuel": ["sam"],
    "benjamin": ["ben"], "patrick": ["pat", "paddy"], "peter": ["pete"], "philip": ["phil"],
    "henry": ["harry"], "edward": ["ed", "ted", "eddie"], "alexander": ["alex"],
    "jonathan": ["jon"], "gregory": ["greg"], "frederick": ["fred"], "lawrence": ["larry"],
    "leonard": ["len"], "ronald": ["ron"], "zachary": ["zac", "zach"],
    "elizabeth": ["liz", "beth", "betty"], "margaret": ["maggie", "meg", "peggy"],
    "catherine": ["cathy", "kate"], "katherine": ["kate", "kathy"], "jennifer": ["jen", "jenny"],
    "jessica": ["jess"], "patricia": ["pat", "trish"], "susan": ["sue"], "rebecca": ["becky", "bec"],
    "samantha": ["sam"], "victoria": ["vicky", "tori"], "alexandra": ["alex", "sandra"],
    "charlotte": ["lottie"], "josephine": ["jo", "josie"], "barbara": ["barb"],
    "deborah": ["deb", "debbie"], "dorothy": ["dot"], "christine": ["chris", "tina"],
    "emily": ["em"], "isabella": ["bella", "izzy"], "abigail": ["abby"], "eleanor": ["ellie", "nell"],
}
DOMAINS = ["HOSP-A", "HOSP-B", "CLINIC-C", "LAB-D", "GP-E"]
FIELDS = ["rec_id", "domain", "given_name", "surname", "date_of_birth", "sex", "street_number",
          "address_1", "address_2", "suburb", "postcode", "state", "phone_number", "soc_sec_id"]


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        zipf = lambda n: [1.0 / (i + 1) ** 0.8 for i in range(n)]
        self.weights = {"M": zipf(len(MALE)), "F": zipf(len(FEMALE)), "S": zipf(len(SURNAMES))}
        self.persons = []  # dicts with the true demographics, history of addresses/surnames

    def given(self, sex, avoid=()):
        names = MALE if sex == "M" else FEMALE
        while True:
            name = self.rng.choices(names, self.weights[sex])[0]
            if name not in avoid:
                return name

    def surname(self):
        return self.rng.choices(SURNAMES, self.weights["S"])[0]

    def address(self):
        suburb, postcode, state = self.rng.choice(LOCALITIES)
        return {
            "street_number": str(self.rng.randint(1, 250)),
            "address_1": f"{self.rng.choice(STREETS)} {self.rng.choice(STREET_TYPES)}",
            "address_2": self.rng.choice(["", "", "", "", f"unit {self.rng.randint(1, 30)}"]),
            "suburb": suburb, "postcode": postcode, "state": state,
            "phone_number": "0" + str(self.rng.randint(2, 8)) + "".join(self.rng.choice("0123456789") for _ in range(8)),
        }

    def dob(self, year_from, year_to):
        year = self.rng.randint(year_from, year_to)
        month = self.rng.randint(1, 12)
        day = self.rng.randint(1, 28)
        return f"{year:04d}{month:02d}{day:02d}"

    def person(self, sex, given, surname, dob, home):
        p = {"sex": sex, "given_name": given, "surname": surname, "date_of_birth": dob, "home": home}
        self.persons.append(p)
        return p

    def household(self):
        home = self.address()
        surname = self.surname()
        kind = self.rng.random()
        if kind < 0.50:
            sex = self.rng.choice("MF")
            self.person(sex, self.given(sex), surname, self.dob(1930, 2005), home)
            return
        # a couple, maybe with children
        a = self.person("M", self.given("M"), surname, self.dob(1950, 1995), home)
        wife_year = int(a["date_of_birth"][:4]) + self.rng.randint(-5, 5)
        b = self.person("F", self.given("F"), surname, self.dob(wife_year, wife_year), home)
        if kind < 0.70:
            return
        parent_year = int(a["date_of_birth"][:4])
        children = self.rng.randint(1, 3)
        used = {a["given_name"], b["given_name"]}
        years = set()

        def birth_year():  # siblings (other than twins) are born in different years
            while True:
                year = min(parent_year + self.rng.randint(20, 40), 2024)
                if year not in years or len(years) > 15:
                    years.add(year)
                    return year

        junior = False
        for _ in range(children):
            sex = self.rng.choice("MF")
            year = birth_year()
            if sex == "M" and not junior and self.rng.random() < 0.25:
                given = a["given_name"]  # junior: same name as the father, same address
                junior = True
            else:
                given = self.given(sex, used)
            used.add(given)
            self.person(sex, given, surname, self.dob(year, year), home)
        if kind > 0.88:
            # twins: same dob, surname, address; different given names
            year = birth_year()
            dob = self.dob(year, year)
            for _ in range(2):
                sex = self.rng.choice("MF")
                given = self.given(sex, used)
                used.add(given)
                self.person(sex, given, surname, dob, home)

    # corruptions -------------------------------------------------------------------------
    def typo(self, value):
        if len(value) < 3:
            return value
        i = self.rng.randrange(len(value) - 1)
        op = self.rng.choice(["sub", "del", "ins", "swap"])
        letters = "abcdefghijklmnopqrstuvwxyz"
        if op == "sub":
            return value[:i] + self.rng.choice(letters) + value[i + 1:]
        if op == "del":
            return value[:i] + value[i + 1:]
        if op == "ins":
            return value[:i] + self.rng.choice(letters) + value[i:]
        return value[:i] + value[i + 1] + value[i] + value[i + 2:]

    def dob_error(self, dob):
        year, month, day = dob[:4], dob[4:6], dob[6:]
        if int(day) <= 12 and day != month and self.rng.random() < 0.5:
            return year + day + month
        i = self.rng.choice([2, 3, 5, 6, 7])
        return dob[:i] + self.rng.choice([d for d in "0123456789" if d != dob[i]]) + dob[i + 1:]

    def record(self, p, stage):
        """One registration of person p; stage > 0 for later registrations (after life events)."""
        rng = self.rng
        home = p["home"]
        surname = p["surname"]
        if stage > 0 and p.get("moved"):
            home = p["moved"]
        if stage > 0 and p.get("married"):
            surname = p["married"]
        r = {"given_name": p["given_name"], "surname": surname, "date_of_birth": p["date_of_birth"],
             "sex": p["sex"], **home}
        if rng.random() < 0.10 and p["given_name"] in NICKNAMES:
            r["given_name"] = rng.choice(NICKNAMES[p["given_name"]])
        if rng.random() < 0.07:
            r["given_name"] = self.typo(r["given_name"])
        if rng.random() < 0.05:
            r["surname"] = self.typo(r["surname"])
        if rng.random() < 0.07:
            r["date_of_birth"] = self.dob_error(r["date_of_birth"])
        if rng.random() < 0.05:
            r["address_1"] = self.typo(r["address_1"])
        for field, rate in [("date_of_birth", 0.02), ("given_name", 0.01), ("sex", 0.08),
                            ("phone_number", 0.35), ("street_number", 0.05), ("address_1", 0.03),
                            ("postcode", 0.03)]:
            if rng.random() < rate:
                r[field] = ""
        if r["sex"] and rng.random() < 0.03:
            r["sex"] = "U"
        return r

    def generate(self, target):
        while True:
            self.household()
            records = len(self.persons) * 1.8  # expected registrations per person
            if records >= target:
                break
        rows, clusters = [], []
        for p in self.persons:
            roll = self.rng.random()
            count = 1 if roll < 0.45 else 2 if roll < 0.80 else 3 if roll < 0.95 else 4
            if p["sex"] == "F" and p["date_of_birth"] < "2000" and self.rng.random() < 0.12:
                p["married"] = self.surname()
            if self.rng.random() < 0.20:
                p["moved"] = self.address()
            domains = self.rng.sample(DOMAINS, min(count, len(DOMAINS)))
            ids = []
            for k in range(count):
                domain = domains[k]
                if k > 0 and self.rng.random() < 0.06:
                    domain = domains[0]  # same-domain duplicate: a second local id at one source
                rows.append((domain, self.record(p, k)))
                ids.append(len(rows) - 1)
            clusters.append(ids)
        order = list(range(len(rows)))
        self.rng.shuffle(order)
        rec_id = {old: f"r{new:06d}" for new, old in enumerate(order)}
        records = []
        for old in order:
            domain, r = rows[old]
            records.append({"rec_id": rec_id[old], "domain": domain, "soc_sec_id": "", **r})
        links = [(rec_id[a], rec_id[b]) for ids in clusters for i, a in enumerate(ids) for b in ids[i + 1:]]
        return records, links


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    records, links = Generator(args.seed).generate(args.records)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "records.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(records)
    with open(os.path.join(args.out, "links.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["rec_id_1", "rec_id_2"])
        w.writerows(links)
    print(f"{args.out}: {len(records)} records, {len(links)} true links")


if __name__ == "__main__":
    main()
