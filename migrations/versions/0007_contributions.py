"""contributions: chosen bases changed at a terminal, and contribution months from before this system

base_change: a flexible-employment enrolment's new base, in force from a month after the one
it was made in (frozen bills are never priced again). contribution_history: the months of each
scheme a person contributed before this system, for the contribution years on the person screen.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 11:02:07.478885

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contribution_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.String(length=40), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.CheckConstraint('months >= 0', name=op.f('ck_contribution_history_months')),
    sa.ForeignKeyConstraint(['person_id'], ['insured_person.id'], name=op.f('fk_contribution_history_person_id_insured_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contribution_history')),
    sa.UniqueConstraint('person_id', 'scheme', name='uq_contribution_history_scheme')
    )
    with op.batch_alter_table('contribution_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contribution_history_person_id'), ['person_id'], unique=False)

    op.create_table('base_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('effective_month', sa.Date(), nullable=False),
    sa.Column('base_fen', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('base_fen > 0', name=op.f('ck_base_change_positive')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_base_change_enrolment_id_enrolment')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_base_change_terminal_id_terminal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_base_change')),
    sa.UniqueConstraint('enrolment_id', 'effective_month', name='uq_base_change_month')
    )
    with op.batch_alter_table('base_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_base_change_enrolment_id'), ['enrolment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('base_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_base_change_enrolment_id'))

    op.drop_table('base_change')
    with op.batch_alter_table('contribution_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contribution_history_person_id'))

    op.drop_table('contribution_history')
