"""Today's schema: the tables ``db.create_all()`` made before there were migrations, now with
the naming convention's constraint names (``kiosk/extensions.py``).

Written by autogenerate against an empty SQLite database, then checked by hand against the SQL
it emits on SQLite and PostgreSQL (``flask db upgrade --sql``): indexes are created with plain
``op.create_index`` (a new table needs no batch mode, in which older Alembic lost
``sqlite_where``, alembic #1112); the two partial unique indexes carry their predicate for each
database; the downgrade drops the tables, and their indexes with them.
``tests/test_migrations.py`` proves the result equals the models on both databases.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('callback_refusal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('last_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_refusal')),
        sa.UniqueConstraint('day', 'provider', 'reason', name='uq_callback_refusal_day')
    )
    op.create_table('region',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=6), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('agency_name', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_region')),
        sa.UniqueConstraint('code', name=op.f('uq_region_code'))
    )
    op.create_table('sandbox_trade',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('out_trade_no', sa.String(length=64), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('trade_no', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('amount_fen', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('notify_url', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('refunded_fen', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_trade')),
        sa.UniqueConstraint('out_trade_no', name=op.f('uq_sandbox_trade_out_trade_no')),
        sa.UniqueConstraint('token', name=op.f('uq_sandbox_trade_token')),
        sa.UniqueConstraint('trade_no', name=op.f('uq_sandbox_trade_trade_no'))
    )
    op.create_table('terminal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('location', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_terminal')),
        sa.UniqueConstraint('code', name=op.f('uq_terminal_code'))
    )
    op.create_table('insured_person',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('id_digest', sa.String(length=64), nullable=False),
        sa.Column('id_masked', sa.String(length=18), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('birth_date', sa.Date(), nullable=False),
        sa.Column('category', sa.String(length=30), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_insured_person_region_id_region')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_insured_person')),
        sa.UniqueConstraint('id_digest', name=op.f('uq_insured_person_id_digest'))
    )
    op.create_table('premium_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('scheme', sa.String(length=40), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_to', sa.Date(), nullable=True),
        sa.Column('flat_fen', sa.Integer(), nullable=False),
        sa.Column('rate_per_10000', sa.Integer(), nullable=False),
        sa.Column('base_floor_fen', sa.Integer(), nullable=False),
        sa.Column('base_cap_fen', sa.Integer(), nullable=False),
        sa.Column('late_fee_per_10000_per_day', sa.Integer(), nullable=False),
        sa.Column('rounding', sa.String(length=8), nullable=False),
        sa.Column('window_opens_months_before', sa.Integer(), nullable=False),
        sa.Column('window_closes_months_after', sa.Integer(), nullable=False),
        sa.Column('max_arrears_months', sa.Integer(), nullable=False),
        sa.Column('subsidy_percent', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_premium_rule_region_id_region')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_premium_rule'))
    )
    op.create_index(op.f('ix_premium_rule_region_id'), 'premium_rule', ['region_id'], unique=False)

    op.create_table('bill',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('scheme', sa.String(length=40), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('principal_fen', sa.Integer(), nullable=False),
        sa.Column('subsidy_fen', sa.Integer(), nullable=False),
        sa.Column('late_fee_per_10000_per_day', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('principal_fen >= 0 AND subsidy_fen >= 0 AND subsidy_fen <= principal_fen', name=op.f('ck_bill_amounts')),
        sa.ForeignKeyConstraint(['person_id'], ['insured_person.id'], name=op.f('fk_bill_person_id_insured_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bill')),
        sa.UniqueConstraint('person_id', 'scheme', 'period_start', name='uq_bill_period')
    )
    op.create_index(op.f('ix_bill_person_id'), 'bill', ['person_id'], unique=False)

    op.create_table('enrolment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('scheme', sa.String(length=40), nullable=False),
        sa.Column('start_date', sa.Date(), nullable=False),
        sa.Column('end_date', sa.Date(), nullable=True),
        sa.Column('base_fen', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['insured_person.id'], name=op.f('fk_enrolment_person_id_insured_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment')),
        sa.UniqueConstraint('person_id', 'scheme', 'start_date', name=op.f('uq_enrolment_person_id'))
    )
    op.create_index(op.f('ix_enrolment_person_id'), 'enrolment', ['person_id'], unique=False)

    op.create_table('payment_order',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('out_trade_no', sa.String(length=64), nullable=False),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('terminal_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('total_fen', sa.Integer(), nullable=False),
        sa.Column('refund_due_fen', sa.Integer(), nullable=False),
        sa.Column('qr_payload', sa.Text(), nullable=True),
        sa.Column('qr_svg', sa.Text(), nullable=True),
        sa.Column('provider_trade_no', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('last_queried_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('paid_at', sa.DateTime(), nullable=True),
        sa.Column('trade_open', sa.Boolean(), nullable=False),
        sa.CheckConstraint('total_fen > 0', name=op.f('ck_order_total_positive')),
        sa.ForeignKeyConstraint(['person_id'], ['insured_person.id'], name=op.f('fk_payment_order_person_id_insured_person')),
        sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_payment_order_terminal_id_terminal')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_order')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_order_idempotency_key')),
        sa.UniqueConstraint('out_trade_no', name=op.f('uq_payment_order_out_trade_no'))
    )
    op.create_index(op.f('ix_payment_order_person_id'), 'payment_order', ['person_id'], unique=False)
    op.create_index(op.f('ix_payment_order_status'), 'payment_order', ['status'], unique=False)

    op.create_table('payment_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('detail', sa.String(length=400), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_payment_event_order_id_payment_order')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_event'))
    )
    op.create_index(op.f('ix_payment_event_order_id'), 'payment_event', ['order_id'], unique=False)

    op.create_table('payment_order_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('bill_id', sa.Integer(), nullable=False),
        sa.Column('principal_fen', sa.Integer(), nullable=False),
        sa.Column('subsidy_fen', sa.Integer(), nullable=False),
        sa.Column('late_fee_fen', sa.Integer(), nullable=False),
        sa.Column('amount_fen', sa.Integer(), nullable=False),
        sa.Column('live', sa.Boolean(), nullable=False),
        sa.Column('settled', sa.Boolean(), nullable=False),
        sa.CheckConstraint('amount_fen = principal_fen - subsidy_fen + late_fee_fen', name=op.f('ck_item_amount')),
        sa.ForeignKeyConstraint(['bill_id'], ['bill.id'], name=op.f('fk_payment_order_item_bill_id_bill')),
        sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_payment_order_item_order_id_payment_order')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_order_item'))
    )
    op.create_index(op.f('ix_payment_order_item_order_id'), 'payment_order_item', ['order_id'], unique=False)
    op.create_index('uq_item_live_bill', 'payment_order_item', ['bill_id'], unique=True, sqlite_where=sa.text('live = 1'), postgresql_where=sa.text('live'))
    op.create_index('uq_item_settled_bill', 'payment_order_item', ['bill_id'], unique=True, sqlite_where=sa.text('settled = 1'), postgresql_where=sa.text('settled'))

    op.create_table('receipt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=32), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('payer_masked', sa.String(length=100), nullable=False),
        sa.Column('id_masked', sa.String(length=18), nullable=False),
        sa.Column('terminal_code', sa.String(length=40), nullable=False),
        sa.Column('agency_name', sa.String(length=200), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('print_count', sa.Integer(), nullable=False),
        sa.Column('voided_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_receipt_order_id_payment_order')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt')),
        sa.UniqueConstraint('number', name=op.f('uq_receipt_number')),
        sa.UniqueConstraint('order_id', name=op.f('uq_receipt_order_id'))
    )
    op.create_table('visit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('terminal_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('checkout_key', sa.String(length=64), nullable=True),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_visit_order_id_payment_order')),
        sa.ForeignKeyConstraint(['person_id'], ['insured_person.id'], name=op.f('fk_visit_person_id_insured_person')),
        sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_visit_terminal_id_terminal')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visit')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_visit_token_digest'))
    )



def downgrade():
    op.drop_table('visit')
    op.drop_table('receipt')
    op.drop_table('payment_order_item')
    op.drop_table('payment_event')
    op.drop_table('payment_order')
    op.drop_table('enrolment')
    op.drop_table('bill')
    op.drop_table('premium_rule')
    op.drop_table('insured_person')
    op.drop_table('terminal')
    op.drop_table('sandbox_trade')
    op.drop_table('region')
    op.drop_table('callback_refusal')
