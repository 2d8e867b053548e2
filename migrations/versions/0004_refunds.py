"""refunds: ours (refund) and the sandbox provider's ledger of them (sandbox_refund)

A refund row is written before the provider is asked, under a request number unique across
all refunds, so a retry can only ask for the same refund again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:22:25.711495

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sandbox_refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('out_trade_no', sa.String(length=64), nullable=False),
    sa.Column('out_request_no', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_refund')),
    sa.UniqueConstraint('out_request_no', name=op.f('uq_sandbox_refund_out_request_no'))
    )
    with op.batch_alter_table('sandbox_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sandbox_refund_out_trade_no'), ['out_trade_no'], unique=False)

    op.create_table('refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('out_request_no', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_refund_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_refund_order_id_payment_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund')),
    sa.UniqueConstraint('out_request_no', name=op.f('uq_refund_out_request_no'))
    )
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_state'), ['state'], unique=False)



def downgrade():
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_state'))
        batch_op.drop_index(batch_op.f('ix_refund_order_id'))

    op.drop_table('refund')
    with op.batch_alter_table('sandbox_refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sandbox_refund_out_trade_no'))

    op.drop_table('sandbox_refund')
