"""Fields of a Japanese ID card or passport data page from OCR text lines (pure).

Input: text boxes from the OCR engine (text, confidence, bounding box). Boxes are grouped
into printed rows; the document type is found by its title (個人番号カード, 運転免許証,
在留カード, PASSPORT / 旅券 or a TD3 MRZ); fields are found by their labels (氏名, 住所,
住居地, 番号), dates in wareki, western or passport notation (生 marks the birth date,
有効 / まで the expiry), and the MRZ is parsed with check-digit correction
(:mod:`honnin.documents.mrz`).

The recogniser bundled with rapidocr is trained on Chinese and Latin text: it reads kanji
and digits well, kana poorly, and sometimes answers with the simplified form of a kanji.
:data:`KANJI_VARIANTS` maps those simplified forms back, and prefecture names dropped of
their 県/府/都 are restored.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from honnin.documents import mrz as mrz_module
from honnin.documents.errors import MrzFormatError
from honnin.documents.wareki import FoundDate, find_dates

DocumentType = Literal["mynumber", "driver_license", "residence_card", "passport", "unknown"]

# Simplified (and traditional) Chinese forms the recogniser returns -> the Japanese
# shinjitai. Only characters that Japanese does not use itself (in names either) are listed.
KANJI_VARIANTS = str.maketrans(
    "宫辅别证效满发县东爱冈广岛纳长马鸟泽边滨桥荣乐团图铁线车门开关间阳华丰兴纪绘惠庆实"
    "义诚贵达过进远释钱铃阁陆顺须风馆驹鹤亚仓优传伦儿刚则刘动务劳协单卖卫历变吴员园围圆"
    "场坚归录张强应库庄帮师带岁层尽对宽宁奖夺头处复备壮坛块检楼树样梦极杂条晓时显无断"
    "数换挥扩择拥户惊恶从径汉沟泪测济涩灵热环现电疗盐监矶码祯离种积稳穷竞笔节范粮紧红约"
    "级纯纲纵组细织终经结给络绝统绿编缘网罗职肃胁脑艺苏药获营萤观规视觉览记许设评识译"
    "试诗话说请读谁调谈贝负贡财责贤败货质购贯贺资赏赵轮软较载辉迁运还这连迟选递遗邮邻"
    "郑针钓钟钢银锦镇闭问闲闻阀阅队阶际陈险隐难鸡雾韩页顶项顾预领频题颜额饭饮驻驿验骑"
    "鱼鲜鸣黑龟齐斋穗姬縣驛榮學實廳會寶團藏靜顯鐵个",
    "宮輔別証効満発県東愛岡広島納長馬鳥沢辺浜橋栄楽団図鉄線車門開関間陽華豊興紀絵恵慶実"
    "義誠貴達過進遠釈銭鈴閣陸順須風館駒鶴亜倉優伝倫児剛則劉動務労協単売衛歴変呉員園囲円"
    "場堅帰録張強応庫荘幇師帯歳層尽対寛寧奨奪頭処復備壮壇塊検楼樹様夢極雑条暁時顕無断"
    "数換揮拡択擁戸驚悪従径漢溝涙測済渋霊熱環現電療塩監磯碼禎離種積穏窮競筆節範糧緊紅約"
    "級純綱縦組細織終経結給絡絶統緑編縁網羅職粛脅脳芸蘇薬獲営蛍観規視覚覧記許設評識訳"
    "試詩話説請読誰調談貝負貢財責賢敗貨質購貫賀資賞趙輪軟較載輝遷運還這連遅選逓遺郵隣"
    "鄭針釣鐘鋼銀錦鎮閉問閑聞閥閲隊階際陳険隠難鶏霧韓頁頂項顧預領頻題顔額飯飲駐駅験騎"
    "魚鮮鳴黒亀斉斎穂姫県駅栄学実庁会宝団蔵静顕鉄個",
)
_ERA_MISREADS = (
    (re.compile(r"[合今命含]和(?=\s*[0-9元])"), "令和"),
    (re.compile(r"平[戌戍]"), "平成"),
    (re.compile(r"[照]和(?=\s*[0-9元])"), "昭和"),
)
PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)  # fmt: skip


@dataclass(frozen=True)
class OcrLine:
    """One text box from the OCR engine: text, confidence and its quadrilateral
    (four (x, y) corners, clockwise from the top left of the text)."""

    text: str
    confidence: float
    corners: tuple[tuple[float, float], ...]

    @property
    def angle(self) -> float:
        (x0, y0), (x1, y1) = self.corners[0], self.corners[1]
        return math.atan2(y1 - y0, x1 - x0)

    @property
    def width(self) -> float:
        (x0, y0), (x1, y1) = self.corners[0], self.corners[1]
        return math.hypot(x1 - x0, y1 - y0)

    @property
    def height(self) -> float:
        (x0, y0), (x3, y3) = self.corners[0], self.corners[3]
        return max(math.hypot(x3 - x0, y3 - y0), 1.0)

    @property
    def centre(self) -> tuple[float, float]:
        xs = [x for x, _ in self.corners]
        ys = [y for _, y in self.corners]
        return sum(xs) / len(xs), sum(ys) / len(ys)


@dataclass(frozen=True)
class Field:
    value: str
    confidence: float
    source: str  # "label", "date", "mrz", "pattern"

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "confidence": round(self.confidence, 3), "source": self.source}


@dataclass(frozen=True)
class CardReading:
    document_type: DocumentType
    fields: dict[str, Field]
    mrz: mrz_module.Mrz | None
    rows: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_type": self.document_type,
            "fields": {name: item.to_dict() for name, item in self.fields.items()},
            "mrz": self.mrz.to_dict() if self.mrz else None,
            "text": list(self.rows),
        }


@dataclass(frozen=True)
class _Row:
    text: str
    confidence: float


def normalise_text(text: str) -> str:
    """NFKC, Japanese kanji forms for simplified misreads, era name misreads fixed."""
    text = unicodedata.normalize("NFKC", text).translate(KANJI_VARIANTS)
    for pattern, replacement in _ERA_MISREADS:
        text = pattern.sub(replacement, text)
    return text


def _skew(lines: list[OcrLine]) -> float:
    """The page's rotation: the width-weighted median angle of its text boxes."""
    weighted = sorted((line.angle, line.width) for line in lines)
    half = sum(width for _, width in weighted) / 2
    total = 0.0
    for angle, width in weighted:
        total += width
        if total >= half:
            return angle
    return 0.0


def group_rows(lines: list[OcrLine]) -> list[_Row]:
    """Boxes whose centres lie on one printed line (after undoing the page's rotation)."""
    if not lines:
        return []
    skew = _skew(lines)
    cos, sin = math.cos(-skew), math.sin(-skew)
    placed = []
    for line in lines:
        x, y = line.centre
        placed.append((x * sin + y * cos, x * cos - y * sin, line))
    placed.sort(key=lambda item: item[0])
    rows: list[list[tuple[float, float, OcrLine]]] = []
    for item in placed:
        y, _, line = item
        for row in rows:
            row_y = sum(member[0] for member in row) / len(row)
            row_height = min(member[2].height for member in row)
            if abs(y - row_y) < 0.5 * min(row_height, line.height):
                row.append(item)
                break
        else:
            rows.append([item])
    out: list[_Row] = []
    for row in rows:
        row.sort(key=lambda member: member[1])
        text = " ".join(normalise_text(member[2].text) for member in row)
        out.append(_Row(text, min(member[2].confidence for member in row)))
    return out


def detect_type(text: str) -> DocumentType:
    compact = re.sub(r"\s+", "", text).upper()
    if "人番号" in compact:
        return "mynumber"
    if "免許" in compact:
        return "driver_license"
    if "在留" in compact:
        return "residence_card"
    if "PASSPORT" in compact or "旅券" in compact or re.search(r"P<[A-Z]{3}", compact):
        return "passport"
    return "unknown"


# What the recogniser, which lacks 県, answers for it.
_KEN_MISREADS = "鼎县縣具"


def restore_prefecture(address: str) -> str:
    """``宮城仙台市...`` -> ``宮城県仙台市...`` when OCR dropped or misread the suffix;
    ``千千葉市...`` -> ``千葉県千葉市...`` when it dropped the end of a prefecture whose
    capital bears its name."""
    for prefecture in PREFECTURES:
        stem = prefecture[:-1]
        for cut in range(1, len(stem)):
            if address[cut:].startswith(stem) and stem.startswith(address[:cut]):
                return prefecture + address[cut:]
    for prefecture in PREFECTURES:
        stem = prefecture[:-1]
        if address.startswith(prefecture) or prefecture == "北海道":
            if address.startswith(prefecture):
                return address
            continue
        if address.startswith(stem):
            rest = address[len(stem) :]
            if prefecture.endswith("県") and rest[:1] and rest[0] in _KEN_MISREADS:
                rest = rest[1:]
            return prefecture + rest
    return address


def _after_label(rows: list[_Row], labels: tuple[str, ...]) -> tuple[str, float] | None:
    for row in rows:
        compact = row.text.strip()
        for label in labels:
            index = compact.find(label)
            if index >= 0 and index <= 2:
                return compact[index + len(label) :].strip(" :："), row.confidence
    return None


def _mrz_candidates(rows: list[_Row]) -> list[tuple[str, float]]:
    out = []
    for row in rows:
        compact = re.sub(r"\s+", "", row.text).upper().replace("×", "X").replace("«", "<<")
        if len(compact) >= 25 and compact.count("<") >= 2 and re.fullmatch(r"[A-Z0-9<]+", compact):
            out.append((compact, row.confidence))
    return out


def read_mrz(rows: list[_Row]) -> tuple[mrz_module.Mrz, float] | None:
    """The best-checking MRZ among consecutive MRZ-like rows."""
    candidates = _mrz_candidates(rows)
    best: tuple[mrz_module.Mrz, float] | None = None
    for size in (2, 3):
        for start in range(len(candidates) - size + 1):
            group = candidates[start : start + size]
            try:
                parsed = mrz_module.parse("\n".join(text for text, _ in group))
            except MrzFormatError:
                continue
            score = sum(parsed.checks.values())
            if best is None or score > sum(best[0].checks.values()):
                best = (parsed, min(conf for _, conf in group))
    return best


def _clean_name(value: str) -> str:
    value = re.sub(r"\s+", " ", value).strip()
    # A birth date printed on the name row (driver's licence) ends the name.
    return re.split(r"(明治|大正|昭和|平成|令和|\d)", value, maxsplit=1)[0].strip()


def _dates(rows: list[_Row]) -> list[tuple[FoundDate, str, float]]:
    return [(found, row.text, row.confidence) for row in rows for found in find_dates(row.text)]


def read_fields(lines: list[OcrLine]) -> CardReading:
    """Fields with per-field confidence (the lowest box confidence that fed the field)."""
    rows = group_rows(lines)
    full = "\n".join(row.text for row in rows)
    kind = detect_type(full)
    fields: dict[str, Field] = {}
    mrz_read = read_mrz(rows)
    mrz_value = mrz_read[0] if mrz_read else None
    if mrz_read is not None:
        fields.update(_fields_from_mrz(*mrz_read))
        if kind == "unknown":
            kind = "passport"

    if kind == "passport":
        _passport_names_into(fields, rows)
    name = _after_label(rows, ("氏名", "氏 名"))
    if name and "name" not in fields:
        cleaned = _clean_name(name[0])
        if cleaned:
            fields["name"] = Field(cleaned, name[1], "label")
    address = _after_label(rows, ("住居地", "住所", "住 所"))
    if address:
        value = restore_prefecture(re.sub(r"\s+", "", address[0]))
        fields["address"] = Field(value, address[1], "label")
    _dates_into(fields, rows)
    _numbers_into(fields, rows, kind)
    sex = re.search(r"性[別别]\s*([男女])", full)
    if sex and "sex" not in fields:
        fields["sex"] = Field("F" if sex[1] == "女" else "M", 1.0, "label")
    return CardReading(kind, fields, mrz_value, tuple(row.text for row in rows))


_VIZ_LABEL = re.compile(r"(SURNAME|GIVENNAMES?)[/A-Z]*", re.IGNORECASE)


def _viz_value(rows: list[_Row], label: str) -> tuple[str, float] | None:
    """A passport visual-zone value: beside its label on the same row, or on the next."""
    for index, row in enumerate(rows):
        compact = re.sub(r"\s+", "", row.text).upper()
        if not compact.replace("/", "").startswith(label) and label not in compact:
            continue
        beside = _VIZ_LABEL.sub(" ", re.sub(r"[^A-Za-z/ ]", " ", row.text.upper()))
        words = [w for w in beside.replace("/", " ").split() if len(w) >= 2 and w.isalpha()]
        words = [w for w in words if w not in {"SURNAME", "GIVEN", "NAME", "NAMES"}]
        if words:
            return " ".join(words), row.confidence
        if index + 1 < len(rows):
            nxt = rows[index + 1].text.strip().upper()
            if re.fullmatch(r"[A-Z][A-Z \-]*", nxt):
                return nxt, rows[index + 1].confidence
    return None


def _passport_names_into(fields: dict[str, Field], rows: list[_Row]) -> None:
    """The visual zone's names win over the MRZ's: the name zone has no check digit, and
    OCR drops letters between OCR-B fillers more often than in plain print."""
    surname = _viz_value(rows, "SURNAME")
    given = _viz_value(rows, "GIVENNAME")
    if surname is None:
        return
    value = f"{surname[0]} {given[0] if given else ''}".strip()
    confidence = min(surname[1], given[1] if given else surname[1])
    fields["name"] = Field(value, confidence, "label")


def _fields_from_mrz(parsed: mrz_module.Mrz, confidence: float) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    if parsed.checks.get("document_number"):
        fields["document_number"] = Field(parsed.document_number, confidence, "mrz")
    if parsed.checks.get("birth_date") and parsed.birth_date:
        fields["birth_date"] = Field(parsed.birth_date.isoformat(), confidence, "mrz")
    if parsed.checks.get("expiry_date") and parsed.expiry_date:
        fields["expiry_date"] = Field(parsed.expiry_date.isoformat(), confidence, "mrz")
    if parsed.surname:
        name = f"{parsed.surname} {parsed.given_names}".strip()
        fields["name"] = Field(name, confidence, "mrz")
    fields["sex"] = Field(parsed.sex, confidence, "mrz")
    return fields


def _dates_into(fields: dict[str, Field], rows: list[_Row]) -> None:
    dates = _dates(rows)
    if not dates:
        return
    birth = [
        d for d in dates if re.search(r"生", d[1][d[0].end : d[0].end + 3]) or "生年月日" in d[1]
    ]
    birth += [d for d in dates if re.search(r"birth", d[1], re.IGNORECASE)]
    expiry = [d for d in dates if re.search(r"有|効|劾|满|満了|まで|expiry", d[1], re.IGNORECASE)]
    if "birth_date" not in fields:
        chosen = birth[0] if birth else min(dates, key=lambda d: d[0].value)
        fields["birth_date"] = Field(chosen[0].value.isoformat(), chosen[2], "date")
    if "expiry_date" not in fields:
        chosen = expiry[-1] if expiry else max(dates, key=lambda d: d[0].value)
        fields["expiry_date"] = Field(chosen[0].value.isoformat(), chosen[2], "date")


_LICENCE_NUMBER = re.compile(r"第?\s*(\d{12})\s*号?")
_RESIDENCE_NUMBER = re.compile(r"([A-Z0-9]{2})\s*([0-9OIZSBDQL]{8})\s*([A-Z0-9]{2})")
_TO_LETTER = str.maketrans("01258", "OIZSB")
_TO_DIGIT = str.maketrans("OIZSBDQL", "01258001")


def _numbers_into(fields: dict[str, Field], rows: list[_Row], kind: DocumentType) -> None:
    for row in rows:
        compact = re.sub(r"\s+", "", row.text)
        if kind == "driver_license" and "document_number" not in fields:
            match = _LICENCE_NUMBER.search(compact.replace("番号", ""))
            if match and ("第" in compact or "号" in compact or "番号" in compact):
                fields["document_number"] = Field(match[1], row.confidence, "pattern")
        if kind == "residence_card" and "document_number" not in fields:
            match = _RESIDENCE_NUMBER.search(compact.upper().replace("番号", ""))
            if match and "番号" in compact:
                value = (
                    match[1].translate(_TO_LETTER)
                    + match[2].translate(_TO_DIGIT)
                    + match[3].translate(_TO_LETTER)
                )
                fields["document_number"] = Field(value, row.confidence, "pattern")
        if kind == "mynumber" and "security_code" not in fields:
            match = re.fullmatch(r"(?:.*[コード]\D*)?(\d{4})", compact)
            if match:
                fields["security_code"] = Field(match[1], row.confidence, "pattern")
