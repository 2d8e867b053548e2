"""payment attempts: an order with one provider trade per QR code

An order (one checkout) is now paid through attempts, one provider trade and QR code each,
several side by side and a new round after expiry. The trade's columns move from
payment_order to payment_attempt; each existing order becomes its own first attempt.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 07:59:35.021104

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


TRADE_COLUMNS = ("provider", "out_trade_no", "status", "refund_due_fen", "qr_payload", "qr_svg", "provider_trade_no",
                 "finished_at", "paid_at", "trade_open", "closing_at", "close_target")


def upgrade():
    op.create_table('payment_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('round_no', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('out_trade_no', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('refund_due_fen', sa.Integer(), nullable=False),
    sa.Column('qr_payload', sa.Text(), nullable=True),
    sa.Column('qr_svg', sa.Text(), nullable=True),
    sa.Column('provider_trade_no', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.Column('trade_open', sa.Boolean(), nullable=False),
    sa.Column('closing_at', sa.DateTime(), nullable=True),
    sa.Column('close_target', sa.String(length=20), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_attempt_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_payment_attempt_order_id_payment_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_attempt')),
    sa.UniqueConstraint('out_trade_no', name=op.f('uq_payment_attempt_out_trade_no'))
    )
    with op.batch_alter_table('payment_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_attempt_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_attempt_status'), ['status'], unique=False)

    # every order so far had one trade: it becomes the order's first attempt, under the order's own id,
    # so that events and refunds name their attempt by the id they already hold
    columns = ", ".join(TRADE_COLUMNS)
    op.execute(f"INSERT INTO payment_attempt (id, order_id, round_no, amount_fen, created_at, expires_at, {columns}) "
               f"SELECT id, id, 1, total_fen, created_at, expires_at, {columns} FROM payment_order")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('payment_attempt', 'id'), COALESCE(MAX(id), 0) + 1, false) "
                   "FROM payment_attempt")

    with op.batch_alter_table('payment_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payment_event_attempt_id_payment_attempt'), 'payment_attempt', ['attempt_id'], ['id'])
    op.execute("UPDATE payment_event SET attempt_id = order_id")

    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round_no', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('paid_attempt_id', sa.Integer(), nullable=True))
    # the trade won its order if it was paid (and still is, or was refunded after being paid)
    op.execute("UPDATE payment_order SET round_no = 1, paid_attempt_id = CASE WHEN paid_at IS NOT NULL "
               "AND status IN ('paid', 'refunded') THEN id END")
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.alter_column('round_no', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_payment_order_status'))
        batch_op.drop_constraint(batch_op.f('uq_payment_order_out_trade_no'), type_='unique')
        batch_op.create_foreign_key('fk_order_paid_attempt', 'payment_attempt', ['paid_attempt_id'], ['id'], use_alter=True)
        for column in TRADE_COLUMNS:
            batch_op.drop_column(column)

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt_id', sa.Integer(), nullable=True))
    op.execute("UPDATE refund SET attempt_id = order_id")
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.alter_column('attempt_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_refund_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_refund_attempt_id_payment_attempt'), 'payment_attempt', ['attempt_id'], ['id'])


def downgrade():
    """Back to one trade per order: each order keeps its winning attempt, else its latest one."""
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_refund_attempt_id_payment_attempt'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_refund_attempt_id'))
        batch_op.drop_column('attempt_id')

    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_due_fen', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('qr_payload', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('provider', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('closing_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('paid_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('provider_trade_no', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('qr_svg', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('out_trade_no', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('trade_open', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('close_target', sa.String(length=20), nullable=True))
        batch_op.drop_constraint('fk_order_paid_attempt', type_='foreignkey')
    kept = ("COALESCE(payment_order.paid_attempt_id, (SELECT MAX(a.id) FROM payment_attempt a "
            "WHERE a.order_id = payment_order.id))")
    for column in TRADE_COLUMNS:
        op.execute(f"UPDATE payment_order SET {column} = (SELECT a.{column} FROM payment_attempt a WHERE a.id = {kept})")
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        for column, kind in (("refund_due_fen", sa.Integer()), ("provider", sa.String(length=20)),
                             ("out_trade_no", sa.String(length=64)), ("status", sa.String(length=20)),
                             ("trade_open", sa.Boolean())):
            batch_op.alter_column(column, existing_type=kind, nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_payment_order_out_trade_no'), ['out_trade_no'])
        batch_op.create_index(batch_op.f('ix_payment_order_status'), ['status'], unique=False)
        batch_op.drop_column('paid_attempt_id')
        batch_op.drop_column('round_no')

    with op.batch_alter_table('payment_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payment_event_attempt_id_payment_attempt'), type_='foreignkey')
        batch_op.drop_column('attempt_id')

    with op.batch_alter_table('payment_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_attempt_status'))
        batch_op.drop_index(batch_op.f('ix_payment_attempt_order_id'))

    op.drop_table('payment_attempt')
