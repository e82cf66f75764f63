"""Seeded test customers shared by every sandbox bank (fictional people, real-looking data).

The set is chosen to exercise the normalisation rules of the broker: kanji variants
(髙/高, 﨑/崎, 邉/辺, 齋/斎), a hiragana given name, katakana with the long-vowel mark and
small kana, era boundaries (昭和64年1月7日 is the last day of Shōwa, 平成元年1月8日 the
first of Heisei, 昭和元年 and 令和元年 are both 元年 years, a 29 February), and addresses
with 丁目/番地/号, a Kyoto street-direction address (通…上る), a town name that contains a
kanji numeral which is *not* a block number (一番町) and building names.
Postal codes and towns are real places; the people are not.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

SANDBOX_PASSWORD = "sandbox"  # noqa: S105 - the documented password of fictional test users


@dataclass(frozen=True, slots=True)
class Address:
    """A Japanese address in parts, as a bank's core system keeps it."""

    postal_code: str  # seven ASCII digits, no hyphen
    prefecture: str
    municipality: str  # 市区町村 (a designated city's ward included)
    street: str  # town + 丁目/番地/号 written the way the customer registered it
    street_hyphenated: str  # the same with hyphens, as many banks print it
    building: str = ""

    @property
    def postal_code_hyphenated(self) -> str:
        return f"{self.postal_code[:3]}-{self.postal_code[3:]}"


@dataclass(frozen=True, slots=True)
class Customer:
    """One account holder. ``username`` / ``password`` log in at any sandbox bank."""

    username: str
    family_name: str
    given_name: str
    family_name_kana: str  # full-width katakana
    given_name_kana: str
    birthdate: dt.date
    gender: str  # OIDC "female" / "male"
    address: Address
    account_opened: dt.date  # when the bank performed its AML identity check
    password: str = SANDBOX_PASSWORD

    @property
    def full_name(self) -> str:
        return f"{self.family_name}\u3000{self.given_name}"

    @property
    def full_name_kana(self) -> str:
        return f"{self.family_name_kana}\u3000{self.given_name_kana}"


CUSTOMERS: tuple[Customer, ...] = (
    Customer(
        username="sato",
        family_name="佐藤",
        given_name="花子",
        family_name_kana="サトウ",
        given_name_kana="ハナコ",
        birthdate=dt.date(1990, 4, 1),
        gender="female",
        address=Address("1000005", "東京都", "千代田区", "丸の内一丁目1番1号", "丸の内1-1-1"),
        account_opened=dt.date(2012, 4, 2),
    ),
    Customer(
        username="takahashi",
        family_name="髙橋",
        given_name="健太",
        family_name_kana="タカハシ",
        given_name_kana="ケンタ",
        birthdate=dt.date(1985, 12, 31),
        gender="male",
        address=Address("5300001", "大阪府", "大阪市北区", "梅田三丁目2番地", "梅田3-2"),
        account_opened=dt.date(2008, 6, 16),
    ),
    Customer(
        username="yamasaki",
        family_name="山﨑",
        given_name="美咲",
        family_name_kana="ヤマサキ",
        given_name_kana="ミサキ",
        birthdate=dt.date(1989, 1, 7),
        gender="female",
        address=Address(
            "4600008",
            "愛知県",
            "名古屋市中区",
            "栄三丁目15番33号",
            "栄3-15-33",
            "栄ガスビル5階",
        ),
        account_opened=dt.date(2010, 10, 1),
    ),
    Customer(
        username="saito",
        family_name="齋藤",
        given_name="由紀",
        family_name_kana="サイトウ",
        given_name_kana="ユキ",
        birthdate=dt.date(1989, 1, 8),
        gender="female",
        address=Address(
            "0600001",
            "北海道",
            "札幌市中央区",
            "北一条西二丁目1番地",
            "北1条西2-1",
            "札幌時計台ビル10階",
        ),
        account_opened=dt.date(2015, 3, 20),
    ),
    Customer(
        username="watanabe",
        family_name="渡邉",
        given_name="一郎",
        family_name_kana="ワタナベ",
        given_name_kana="イチロウ",
        birthdate=dt.date(1926, 12, 25),
        gender="male",
        address=Address(
            "6048091",
            "京都府",
            "京都市中京区",
            "寺町通御池上る上本能寺前町488番地",
            "寺町通御池上る上本能寺前町488",
        ),
        account_opened=dt.date(1975, 5, 1),
    ),
    Customer(
        username="ito",
        family_name="伊藤",
        given_name="ジョージ",
        family_name_kana="イトウ",
        given_name_kana="ジョージ",
        birthdate=dt.date(2000, 2, 29),
        gender="male",
        address=Address(
            "1500002",
            "東京都",
            "渋谷区",
            "渋谷二丁目21番1号",
            "渋谷2-21-1",
            "渋谷ヒカリエ",
        ),
        account_opened=dt.date(2018, 4, 2),
    ),
    Customer(
        username="kobayashi",
        family_name="小林",
        given_name="さくら",
        family_name_kana="コバヤシ",
        given_name_kana="サクラ",
        birthdate=dt.date(2019, 5, 1),
        gender="female",
        address=Address("9000006", "沖縄県", "那覇市", "おもろまち四丁目1番1号", "おもろまち4-1-1"),
        account_opened=dt.date(2019, 6, 3),
    ),
    Customer(
        username="nakamura",
        family_name="中村",
        given_name="太郎",
        family_name_kana="ナカムラ",
        given_name_kana="タロウ",
        birthdate=dt.date(1945, 8, 15),
        gender="male",
        address=Address("9800811", "宮城県", "仙台市青葉区", "一番町二丁目4番1号", "一番町2-4-1"),
        account_opened=dt.date(1990, 1, 10),
    ),
)

_SUBJECT_NAMESPACE = uuid.UUID("6f1d3c2e-9a57-4c1b-8f0e-2b7d5a4c9e13")
_BY_USERNAME = {customer.username: customer for customer in CUSTOMERS}


def find_customer(username: str) -> Customer | None:
    return _BY_USERNAME.get(username)


def customer_number(bank_id: str, customer: Customer) -> str:
    """A bank's own stable identifier of ``customer`` (also its OAuth ``sub``).

    Each bank numbers customers its own way: a UUID-style pairwise subject at さくら,
    a ten-digit customer number at もみじ, ``K`` + seven digits at かえで.
    """
    index = CUSTOMERS.index(customer) + 1
    if bank_id == "momiji_rest":
        return f"{index + 12_345_000:010d}"
    if bank_id == "kaede_xml":
        return f"K{index + 1_234_000:07d}"
    prefix = "skr" if bank_id == "sakura_oidc" else bank_id.replace("_", "-")
    return f"{prefix}-{uuid.uuid5(_SUBJECT_NAMESPACE, f'{bank_id}:{customer.username}')}"
