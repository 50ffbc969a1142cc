"""Seller Central "Date Range" (custom transaction) report: a quoted CSV behind a preamble.

Headers, type values, dates and numbers are localised (US, UK, DE, FR, IT, ES, JP seen in
public parsers). The preamble's length varies by marketplace and year, so the header is found
by its columns, never by skipping a fixed count. Type values are kept as printed (`type`) and
translated to the English names (`transaction_type`); `fulfillment_channel` is `AFN` when
Amazon fulfilled the order, `MFN` otherwise.
"""

from __future__ import annotations

from recoup.reports.base import (
    Column,
    DayBased,
    MarketplaceSource,
    ReportType,
    day,
    integer,
    money,
    text,
)

# Localised `type` values -> the English ones (amazon-reports.md 7.3).
TYPES: dict[str, str] = {
    "Bestellung": "Order",
    "Erstattung": "Refund",
    "Servicegebühr": "Service Fee",
    "Anpassung": "Adjustment",
    "Übertrag": "Transfer",
    "Versand durch Amazon Lagergebühr": "FBA Inventory Fee",
    "Bestellung_Wiedereinzug": "Order_Retrocharge",
    "Erstattung durch Rückbuchung": "Chargeback Refund",
    "Commande": "Order",
    "Remboursement": "Refund",
    "Transfert": "Transfer",
    "Frais de service": "Service Fee",
    "Ajustement": "Adjustment",
    "Ordine": "Order",
    "Rimborso": "Refund",
    "Modifica": "Adjustment",
    "Trasferimento": "Transfer",
    "Pedido": "Order",
    "Reembolso": "Refund",
    "Ajuste": "Adjustment",
    "Transferir": "Transfer",
    "注文": "Order",
    "返金": "Refund",
    "調整": "Adjustment",
    "振込み": "Transfer",
    "注文外料金": "Service Fee",
    "マイナス残高": "Debt",
    "FBA 在庫関連の手数料": "FBA Inventory Fee",
}


DATE_RANGE_COLUMNS: tuple[Column, ...] = (
    day(
        "date_time",
        "date/time",
        "Datum/Uhrzeit",
        "date/heure",
        "Data/Ora",
        "fecha y hora",
        "fecha/hora",
        "datum/tijd",
        "日付/時間",
        required=True,
        not_null=True,
    ),
    text(
        "settlement_id",
        "settlement id",
        "Abrechnungsnummer",
        "numéro de versement",
        "Numero pagamento",
        "identificador de pago",
        "Id. de liquidación",
        "schikkings-id",
        "決済番号",
        required=True,
    ),
    text(
        "type",
        "type",
        "Typ",
        "Tipo",
        "トランザクションの種類",
        required=True,
    ),
    text(
        "order_id",
        "order id",
        "Bestellnummer",
        "numéro de la commande",
        "Numero ordine",
        "número de pedido",
        "Id. del pedido",
        "bestelnummer",
        "注文番号",
        required=True,
    ),
    text("sku", "sku", "SKU"),
    text(
        "description",
        "description",
        "Beschreibung",
        "descripción",
        "descrizione",
        "beschrijving",
        "説明",
    ),
    integer("quantity", "quantity", "Menge", "quantité", "quantità", "cantidad", "aantal", "数量"),
    text("marketplace_name", "marketplace", "web de Amazon", "Amazon 出品サービス"),
    text("account_type", "account type"),
    text(
        "fulfillment",
        "fulfillment",
        "fulfilment",
        "Versand",
        "traitement",
        "gestión logística",
        "Gestione",
        "fulfillment",
        "フルフィルメント",
    ),
    text("order_city", "order city", "Ort der Bestellung", "市町村"),
    text("order_state", "order state", "Bundesland", "都道府県"),
    text("order_postal", "order postal", "Postleitzahl", "郵便番号"),
    text("tax_collection_model", "tax collection model", "Steuererhebungsmodell", "税金徴収型"),
    money(
        "product_sales",
        "product sales",
        "Umsätze",
        "ventes de produits",
        "Vendite",
        "ventas de productos",
        "verkoop van producten",
        "商品売上",
    ),
    money("product_sales_tax", "product sales tax", "Produktumsatzsteuer", "商品の売上税"),
    money(
        "shipping_credits",
        "shipping credits",
        "postage credits",
        "Gutschrift für Versandkosten",
        "verzendtegoeden",
        "配送料",
    ),
    money(
        "shipping_credits_tax",
        "shipping credits tax",
        "postage credits tax",
        "Steuer auf Versandgutschrift",
        "配送料の税金",
    ),
    money(
        "gift_wrap_credits",
        "gift wrap credits",
        "Gutschrift für Geschenkverpackung",
        "ギフト包装手数料",
    ),
    money(
        "giftwrap_credits_tax",
        "giftwrap credits tax",
        "gift wrap credits tax",
        "Steuer auf Geschenkverpackungsgutschriften",
        "ギフト包装クレジットの税金",
    ),
    money("regulatory_fee", "Regulatory Fee"),
    money("tax_on_regulatory_fee", "Tax On Regulatory Fee"),
    money(
        "promotional_rebates",
        "promotional rebates",
        "Rabatte aus Werbeaktionen",
        "プロモーション割引額",
    ),
    money(
        "promotional_rebates_tax",
        "promotional rebates tax",
        "Steuer auf Aktionsrabatte",
        "プロモーション割引の税金",
    ),
    money(
        "marketplace_withheld_tax",
        "marketplace withheld tax",
        "Einbehaltene Steuer auf Marketplace",
        "源泉徴収税を伴うマーケットプレイス",
    ),
    money(
        "selling_fees",
        "selling fees",
        "Verkaufsgebühren",
        "frais de vente",
        "Commissioni di vendita",
        "tarifas de venta",
        "手数料",
    ),
    money(
        "fba_fees",
        "fba fees",
        "Gebühren zu Versand durch Amazon",
        "Frais Expédié par Amazon",
        "Costi del servizio Logistica di Amazon",
        "tarifas de Logística de Amazon",
        "FBA 手数料",
    ),
    money(
        "other_transaction_fees",
        "other transaction fees",
        "Andere Transaktionsgebühren",
        "autres frais de transaction",
        "トランザクションに関するその他の手数料",
    ),
    money("other", "other", "Andere", "autre", "Altro", "otro", "その他"),
    Column("total", ("total", "Gesamt", "totale", "合計"), "decimal", True, True),
    text("transaction_status", "Transaction Status", "Transaktionsstatus"),
    day("transaction_release_date", "Transaction Release Date", "Freigabedatum der Transaktion"),
)


def _shape(rows: str) -> list[tuple[str, str]]:
    cases = " ".join(f"WHEN '{local}' THEN '{english}'" for local, english in TYPES.items())
    names = ", ".join(c.name for c in DATE_RANGE_COLUMNS)
    return [
        (
            "date_range_transactions",
            f"SELECT account, marketplace, file_id, line, {names}, "
            f"CASE type {cases} ELSE type END AS transaction_type, "
            # `Amazon`, `Versand durch Amazon`, `Expédié par Amazon`, `Amazon が発送`...
            f"CASE WHEN fulfillment IS NULL THEN NULL "
            f"WHEN contains(lower(fulfillment), 'amazon') THEN 'AFN' ELSE 'MFN' END "
            f"AS fulfillment_channel FROM {rows}",
        )
    ]


DATE_RANGE = ReportType(
    name="date_range_transactions",
    table="date_range_transactions",
    title="Date Range transaction report",
    columns=DATE_RANGE_COLUMNS,
    merge=DayBased("date_time"),
    date_column="date_time",
    marketplace_from=(MarketplaceSource("marketplace_name"),),
    localised_numbers=True,
    shape=_shape,
)
